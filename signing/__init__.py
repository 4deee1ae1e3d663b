"""PAdES signing and validation on pyHanko; trust and revocation policy."""
