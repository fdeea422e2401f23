"""Backbones and hash heads."""
