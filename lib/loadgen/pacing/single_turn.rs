//! Single-turn requests: request `k` sends the dataset prompt the sampler picks for it (`k mod
//! prompts` unless `--dataset-sampling-strategy` says otherwise).

use std::sync::Arc;

use super::send::{Due, Outgoing, Sender};
use crate::contract::records::Phase;
use crate::loadgen::dataset::prompts::Prompt;
use crate::loadgen::dataset::sampling::Sampler;

/// The prompts a single-turn run cycles through, and their conversation ids.
pub struct Prompts {
    pub prompts: Arc<Vec<Prompt>>,
    ids: Vec<Arc<str>>,
    sampler: Sampler,
}

impl Prompts {
    pub fn new(prompts: Arc<Vec<Prompt>>, sampler: Sampler) -> Prompts {
        let ids = prompts.iter().map(|p| Arc::from(p.session_id.as_str())).collect();
        Prompts {
            prompts,
            ids,
            sampler,
        }
    }

    /// Sends request `request_num` (the prompt the sampler picks); true when the server refused
    /// the connection.
    pub async fn send(&self, sh: &Sender, request_num: u64, phase: Phase, due: Due) -> bool {
        let pi = self.sampler.pick(request_num);
        let p = &self.prompts[pi];
        let out = Outgoing {
            body: p.body.bytes(),
            isl: p.isl,
            max_tokens: p.max_tokens,
            conversation: self.ids[pi].clone(),
            turn_index: 0,
            correlation: None,
            isl_payload: None,
            want_reply: false,
            audio_seconds: p.audio_seconds,
            replica: request_num,
        };
        sh.send(request_num, phase, due, out).await.refused
    }
}
