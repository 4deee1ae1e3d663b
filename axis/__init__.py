"""axis: the electronic document interconnection hub (edXML, QCVN 102:2016)."""

__version__ = "0.1.0"
