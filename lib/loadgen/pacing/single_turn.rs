//! Single-turn requests: request `k` sends dataset prompt `k mod prompts`.

use std::sync::Arc;

use super::send::{Due, Outgoing, Sender};
use crate::contract::records::Phase;
use crate::loadgen::dataset::prompts::Prompt;

/// The prompts a single-turn run cycles through, and their conversation ids.
pub struct Prompts {
    pub prompts: Arc<Vec<Prompt>>,
    ids: Vec<Arc<str>>,
}

impl Prompts {
    pub fn new(prompts: Arc<Vec<Prompt>>) -> Prompts {
        let ids = prompts.iter().map(|p| Arc::from(p.session_id.as_str())).collect();
        Prompts { prompts, ids }
    }

    /// Sends request `request_num` (prompt `request_num % prompts`); true when the server refused
    /// the connection.
    pub async fn send(&self, sh: &Sender, request_num: u64, phase: Phase, due: Due) -> bool {
        let pi = (request_num % self.prompts.len() as u64) as usize;
        let p = &self.prompts[pi];
        let out = Outgoing {
            body: p.body.bytes(),
            isl: p.isl,
            max_tokens: p.max_tokens,
            conversation: self.ids[pi].clone(),
            turn_index: 0,
            correlation: None,
            isl_text: None,
            want_reply: false,
            audio_seconds: p.audio_seconds,
            replica: request_num,
        };
        sh.send(request_num, phase, due, out).await.refused
    }
}
