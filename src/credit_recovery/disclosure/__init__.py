"""Disclosure control: small-cell suppression, the privacy scan of the public files, the provenance manifest."""
