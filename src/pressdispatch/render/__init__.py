"""Rendering of press releases into emails and web pages."""
