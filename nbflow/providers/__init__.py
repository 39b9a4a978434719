"""Provider clients (offline built in, OpenAI, Anthropic, Gemini, OpenAI-compatible servers, ElevenLabs,
Runway, generic HTTP), secrets by reference, rate limits, pricing, and provider lookup.

Provider modules import httpx lazily through :mod:`nbflow.providers.builtin`, so importing this
package stays cheap.
"""

from nbflow.providers.catalog import Providers, register_provider
from nbflow.providers.pricing import cost_of, price_for, set_price
from nbflow.providers.provider import Provider
from nbflow.providers.ratelimit import RateLimit, set_rate_limit
from nbflow.providers.secrets import DictSecrets, DotenvSecrets, EnvSecrets, Secret, Secrets, SecretStore

__all__ = [
    "DictSecrets",
    "DotenvSecrets",
    "EnvSecrets",
    "Provider",
    "Providers",
    "RateLimit",
    "Secret",
    "SecretStore",
    "Secrets",
    "cost_of",
    "price_for",
    "register_provider",
    "set_price",
    "set_rate_limit",
]
