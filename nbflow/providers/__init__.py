"""Provider clients (offline built in, OpenAI, Anthropic, Gemini and Veo, OpenAI-compatible servers,
ElevenLabs, Runway, Recraft, Flux, Kling, Replicate, fal, generic HTTP), secrets by reference (with Vault
and AWS Secrets Manager stores and environment profiles), rate limits, pricing, and provider lookup.

Provider modules import httpx lazily through :mod:`nbflow.providers.builtin`, and the names below load
on first use, so importing this package (or one small module of it, as the engine does) stays cheap.
"""

from typing import TYPE_CHECKING

from nbflow.lazy import lazy_attrs

__all__ = [
    "AwsSecrets",
    "DictSecrets",
    "DotenvSecrets",
    "EnvSecrets",
    "Provider",
    "Providers",
    "RateLimit",
    "Secret",
    "SecretStore",
    "Secrets",
    "VaultSecrets",
    "active_env",
    "cost_of",
    "price_for",
    "register_provider",
    "set_active_env",
    "set_price",
    "set_rate_limit",
]

__getattr__, __dir__ = lazy_attrs(globals(), {
    ".awssecrets": ("AwsSecrets",),
    ".catalog": ("Providers", "register_provider"),
    ".pricing": ("cost_of", "price_for", "set_price"),
    ".profiles": ("active_env", "set_active_env"),
    ".provider": ("Provider",),
    ".ratelimit": ("RateLimit", "set_rate_limit"),
    ".secrets": ("DictSecrets", "DotenvSecrets", "EnvSecrets", "Secret", "SecretStore", "Secrets"),
    ".vault": ("VaultSecrets",),
})


if TYPE_CHECKING:
    from nbflow.providers.awssecrets import AwsSecrets
    from nbflow.providers.catalog import Providers, register_provider
    from nbflow.providers.pricing import cost_of, price_for, set_price
    from nbflow.providers.profiles import active_env, set_active_env
    from nbflow.providers.provider import Provider
    from nbflow.providers.ratelimit import RateLimit, set_rate_limit
    from nbflow.providers.secrets import DictSecrets, DotenvSecrets, EnvSecrets, Secret, Secrets, SecretStore
    from nbflow.providers.vault import VaultSecrets
