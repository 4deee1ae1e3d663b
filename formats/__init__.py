"""Pure document formats: edXML packages, Decree 30 rules, agency codes. No import from axis."""
