"""pressdispatch: self-hosted press-release distribution by region and language."""

from pressdispatch.config import Settings, load_settings
from pressdispatch.content import load_release, load_releases, load_subscribers
from pressdispatch.errors import PressDispatchError, Problem
from pressdispatch.matching import choose_variant, plan
from pressdispatch.model import (
    Contact,
    Release,
    ReleaseStatus,
    Subscriber,
    Tier,
    Translation,
    Variant,
)
from pressdispatch.regions import RegionTree, load_regions
from pressdispatch.render.email import EmailRenderer, PreparedMessage, Recipient

__all__ = [
    "Contact",
    "EmailRenderer",
    "PreparedMessage",
    "PressDispatchError",
    "Problem",
    "Recipient",
    "RegionTree",
    "Release",
    "ReleaseStatus",
    "Settings",
    "Subscriber",
    "Tier",
    "Translation",
    "Variant",
    "choose_variant",
    "load_regions",
    "load_release",
    "load_releases",
    "load_settings",
    "load_subscribers",
    "plan",
]
