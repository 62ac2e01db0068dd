"""engagement."""
