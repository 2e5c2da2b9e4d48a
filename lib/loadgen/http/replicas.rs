//! Several server replicas without a load balancer: `--url` given several times spreads the
//! requests over them round-robin, as AIPerf's `--url-strategy round_robin` does.
//!
//! Each replica has its own [`Client`] (its own keep-alive pool). The replica of a single-turn
//! request is `session_num mod replicas`, of every turn of a multi-turn session `session index
//! mod replicas`: requests and sessions are numbered in the order they start, so this is AIPerf's
//! counter that advances once per session start, and it does not depend on which worker sends
//! the request. The records of a multi-replica run carry `metadata.url_index` and
//! `metadata.url`; a single `--url` leaves them out, so those records are unchanged.

use std::sync::Arc;

use crate::loadgen::http::client::Client;
use crate::loadgen::options::Options;

pub struct Replicas {
    clients: Vec<Client>,
    urls: Vec<Arc<str>>,
}

impl Replicas {
    /// One client per `--url`; `pool` = connections kept alive per replica.
    pub fn new(opts: &Options, pool: usize) -> anyhow::Result<Replicas> {
        let clients = opts
            .urls
            .iter()
            .map(|u| Client::at(opts, u, pool))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Replicas {
            clients,
            urls: opts.urls.iter().map(|u| Arc::from(u.as_str())).collect(),
        })
    }

    /// The replica that serves request (or session) number `n`: its index, client and base URL.
    pub fn pick(&self, n: u64) -> (u32, &Client, &Arc<str>) {
        let i = (n % self.clients.len() as u64) as usize;
        (i as u32, &self.clients[i], &self.urls[i])
    }

    /// The API flavour (the same for every replica).
    pub fn kind(&self) -> crate::loadgen::options::EndpointType {
        self.clients[0].kind()
    }

    /// More than one replica (records then say which one served them).
    pub fn several(&self) -> bool {
        self.clients.len() > 1
    }
}
