"""Loaders: release folders and subscriber lists in, model values and problems out."""

from pressdispatch.content.releases import load_release, load_releases
from pressdispatch.content.subscribers import load_subscribers, read_subscriber_file

__all__ = ["load_release", "load_releases", "load_subscribers", "read_subscriber_file"]
