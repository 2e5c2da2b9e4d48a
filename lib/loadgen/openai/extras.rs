//! The usage keys some vendors send at the top level beside the OpenAI ones (AIPerf's usage
//! extras): DeepSeek's cache misses, Gemini's tool-definition tokens, Mistral's audio seconds.

use serde::Deserialize;

/// The top-level extras of one usage object (the details' extras live in its details).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageExtras {
    /// DeepSeek's `prompt_cache_miss_tokens` (tokens).
    pub prompt_cache_miss_tokens: Option<u64>,
    /// Gemini's `toolUsePromptTokenCount` (tokens).
    pub tool_use_prompt_tokens: Option<u64>,
    /// Mistral's `prompt_audio_seconds` (seconds); a non-number (Mistral sends `{}` without
    /// audio) is no value, as AIPerf reads it.
    pub prompt_audio_seconds: Option<f64>,
}

/// The usage keys [`UsageExtras`] reads, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct RawExtras {
    #[serde(default)]
    prompt_cache_miss_tokens: Option<u64>,
    #[serde(default, rename = "toolUsePromptTokenCount")]
    tool_use_prompt_tokens: Option<u64>,
    #[serde(default)]
    prompt_audio_seconds: Option<serde_json::Value>,
}

impl From<RawExtras> for UsageExtras {
    fn from(r: RawExtras) -> UsageExtras {
        UsageExtras {
            prompt_cache_miss_tokens: r.prompt_cache_miss_tokens,
            tool_use_prompt_tokens: r.tool_use_prompt_tokens,
            prompt_audio_seconds: r.prompt_audio_seconds.and_then(|v| v.as_f64()),
        }
    }
}

impl UsageExtras {
    /// Field by field: these where present, else `earlier`'s.
    pub fn or(self, earlier: UsageExtras) -> UsageExtras {
        UsageExtras {
            prompt_cache_miss_tokens: self.prompt_cache_miss_tokens.or(earlier.prompt_cache_miss_tokens),
            tool_use_prompt_tokens: self.tool_use_prompt_tokens.or(earlier.tool_use_prompt_tokens),
            prompt_audio_seconds: self.prompt_audio_seconds.or(earlier.prompt_audio_seconds),
        }
    }
}
