use std::net::IpAddr;

use continuum_runtime::continuum_event;

#[continuum_event("net.peer.seen")]
pub struct PeerSeen {
    #[event(length(max = 15))]
    pub ip: IpAddr,
}

fn main() {}
