"""The built-in provider factories: which key and base-URL variables each reads, and their defaults.

Keys and base URLs follow the official SDKs' environment variables, resolved at run time through
:class:`~nbflow.providers.secrets.Secrets` (environment, ``.env``, or a plugged-in secrets store).
A node's ``api_key_env`` names another variable; its ``base_url`` overrides the URL. A missing key
raises SecretError naming the node and the variable when the client is made, before any request.

======================  ==================================  ======================================
provider                key variable(s)                     base URL variable, default
======================  ==================================  ======================================
``openai``              OPENAI_API_KEY                      OPENAI_BASE_URL, api.openai.com/v1
``anthropic``           ANTHROPIC_API_KEY                   ANTHROPIC_BASE_URL, api.anthropic.com
``gemini``              GEMINI_API_KEY, GOOGLE_API_KEY      GEMINI_BASE_URL, generativelanguage...
``elevenlabs``          ELEVENLABS_API_KEY                  ELEVENLABS_BASE_URL, api.elevenlabs.io
``runway``              RUNWAYML_API_SECRET                 RUNWAYML_BASE_URL, api.dev.runwayml.com
``recraft``             RECRAFT_API_TOKEN, RECRAFT_API_KEY  RECRAFT_BASE_URL, external.api.recraft.ai
``bfl``                 BFL_API_KEY                         BFL_BASE_URL, api.bfl.ai
``kling``               KLING_ACCESS_KEY + KLING_SECRET_KEY KLING_BASE_URL, api-singapore.klingai.com
``replicate``           REPLICATE_API_TOKEN                 REPLICATE_BASE_URL, api.replicate.com
``fal``                 FAL_KEY                             FAL_BASE_URL, queue.fal.run
``openrouter``          OPENROUTER_API_KEY                  openrouter.ai/api/v1
``ollama``              none                                OLLAMA_HOST, localhost:11434
``vllm``/``llamacpp``   none (or ``api_key_env``)           localhost:8000/v1, localhost:8080/v1
``openai-compatible``   none (or ``api_key_env``)           the node's ``base_url`` (required)
``http``                headers reference ``${NAME}``       absolute URLs
======================  ==================================  ======================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbflow.exceptions import ParamError
from nbflow.providers.provider import Provider
from nbflow.providers.ratelimit import RateLimit
from nbflow.providers.secrets import Secret, Secrets

__all__ = ["PROVIDER_SPECS", "ProviderSpec", "register_builtin_providers"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How one built-in provider finds its key and base URL."""

    name: str
    make: Callable[..., Provider]
    key_envs: tuple[str, ...] = ()
    base_envs: tuple[str, ...] = ()
    default_base: str = ""
    key_required: bool = True
    base_suffix: str = ""  # appended to a base URL read from the environment (OLLAMA_HOST has no /v1)
    more_keys: tuple[tuple[str, str], ...] = ()  # (client argument, variable): second secrets (Kling's)

    def __call__(self, config: dict[str, Any], secrets: Secrets, node_id: str) -> Provider:
        base = config.get("base_url")
        if not base:
            env_base = next((v for e in self.base_envs if (v := secrets.get(e))), None)
            base = (env_base.rstrip("/") + self.base_suffix) if env_base else self.default_base
        if not base:
            raise ParamError(f"provider {self.name!r} needs a base_url (e.g. http://localhost:11434/v1)",
                             node=node_id, field="params.base_url")
        key: Secret | None = None
        if config.get("api_key_env"):
            key = secrets.secret(config["api_key_env"], node=node_id)
        elif self.key_envs and self.key_required:
            key = secrets.secret(*self.key_envs, node=node_id)
        limit = RateLimit(rpm=config.get("rpm"), tpm=config.get("tpm"),
                          concurrency=config.get("max_concurrency"))
        more = {arg: secrets.secret(env, node=node_id) for arg, env in self.more_keys}
        return self.make(base_url=base, api_key=key, limit=limit, timeout=config.get("timeout"),
                         clients=config.get("clients"), **more)


def _openai(**kw: Any) -> Provider:
    from nbflow.providers.openai import OpenAIProvider

    return OpenAIProvider(**kw)


def _compatible(name: str) -> Callable[..., Provider]:
    def make(**kw: Any) -> Provider:
        from nbflow.providers.openai import OpenAICompatibleProvider

        return OpenAICompatibleProvider(name=name, **kw)

    return make


def _anthropic(**kw: Any) -> Provider:
    from nbflow.providers.anthropic import AnthropicProvider

    return AnthropicProvider(**kw)


def _gemini(**kw: Any) -> Provider:
    from nbflow.providers.gemini import GeminiProvider

    return GeminiProvider(**kw)


def _elevenlabs(**kw: Any) -> Provider:
    from nbflow.providers.elevenlabs import ElevenLabsProvider

    return ElevenLabsProvider(**kw)


def _runway(**kw: Any) -> Provider:
    from nbflow.providers.runway import RunwayProvider

    return RunwayProvider(**kw)


def _media(module: str, cls: str) -> Callable[..., Provider]:
    def make(**kw: Any) -> Provider:
        import importlib

        return getattr(importlib.import_module(f"nbflow.providers.{module}"), cls)(**kw)

    return make


def _http(**kw: Any) -> Provider:
    from nbflow.providers.generic import GenericHttpProvider

    return GenericHttpProvider(**kw)


PROVIDER_SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec("openai", _openai, ("OPENAI_API_KEY",), ("OPENAI_BASE_URL",), "https://api.openai.com/v1"),
    ProviderSpec("anthropic", _anthropic, ("ANTHROPIC_API_KEY",), ("ANTHROPIC_BASE_URL",),
                 "https://api.anthropic.com"),
    ProviderSpec("gemini", _gemini, ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
                 ("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL"), "https://generativelanguage.googleapis.com"),
    ProviderSpec("elevenlabs", _elevenlabs, ("ELEVENLABS_API_KEY",), ("ELEVENLABS_BASE_URL",),
                 "https://api.elevenlabs.io"),
    ProviderSpec("runway", _runway, ("RUNWAYML_API_SECRET",), ("RUNWAYML_BASE_URL",),
                 "https://api.dev.runwayml.com"),
    ProviderSpec("recraft", _media("recraft", "RecraftProvider"), ("RECRAFT_API_TOKEN", "RECRAFT_API_KEY"),
                 ("RECRAFT_BASE_URL",), "https://external.api.recraft.ai"),
    ProviderSpec("bfl", _media("bfl", "BflProvider"), ("BFL_API_KEY",), ("BFL_BASE_URL",), "https://api.bfl.ai"),
    ProviderSpec("kling", _media("kling", "KlingProvider"), ("KLING_ACCESS_KEY",), ("KLING_BASE_URL",),
                 "https://api-singapore.klingai.com", more_keys=(("secret_key", "KLING_SECRET_KEY"),)),
    ProviderSpec("replicate", _media("replicate", "ReplicateProvider"), ("REPLICATE_API_TOKEN",),
                 ("REPLICATE_BASE_URL",), "https://api.replicate.com"),
    ProviderSpec("fal", _media("fal", "FalProvider"), ("FAL_KEY",), ("FAL_BASE_URL",), "https://queue.fal.run"),
    ProviderSpec("openrouter", _compatible("openrouter"), ("OPENROUTER_API_KEY",), (),
                 "https://openrouter.ai/api/v1"),
    ProviderSpec("ollama", _compatible("ollama"), (), ("OLLAMA_HOST",), "http://localhost:11434/v1",
                 key_required=False, base_suffix="/v1"),
    ProviderSpec("vllm", _compatible("vllm"), (), (), "http://localhost:8000/v1", key_required=False),
    ProviderSpec("llamacpp", _compatible("llamacpp"), (), (), "http://localhost:8080/v1", key_required=False),
    ProviderSpec("openai-compatible", _compatible("openai-compatible"), key_required=False),
    ProviderSpec("http", _http, key_required=False),
)


def register_builtin_providers(register: Callable[[str, Any], None]) -> None:
    """Register every spec above under its name."""
    for spec in PROVIDER_SPECS:
        register(spec.name, spec)
