"""Bad inputs that stay: a corpus of broken, hostile and odd files, bodies, URLs and headers."""
