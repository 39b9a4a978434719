"""Provider clients (offline built in), secrets by reference, and provider lookup."""

from nbflow.providers.base import Provider
from nbflow.providers.registry import Providers, register_provider
from nbflow.providers.secrets import DictSecrets, DotenvSecrets, EnvSecrets, Secrets

__all__ = ["DictSecrets", "DotenvSecrets", "EnvSecrets", "Provider", "Providers", "Secrets",
           "register_provider"]
