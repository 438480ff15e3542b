//! `GET {path}/health` over real TCP: the in-memory hub is always ready; a
//! Redis-backed one answers 200, then 503 within 5 s of Redis being killed
//! (SIGKILL), then 200 again once Redis is back (a real `redis-server`).

mod http_support;
mod redis_support;

use std::time::{Duration, Instant};

use continuum_runtime::Hub;
use http_support::{answer, client, start, subscribe, Answer};

async fn health(url: &str) -> Answer {
    answer(client().get(format!("{url}/health"))).await
}

/// Poll the health route until it answers `status`, for at most `within`.
async fn until(url: &str, status: u16, within: Duration) -> Answer {
    let deadline = Instant::now() + within;
    loop {
        let a = health(url).await;
        if a.status.as_u16() == status {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "health still {} after {within:?}: {:?}",
            a.status,
            a.json
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_in_memory_hub_is_ready_and_says_so_with_its_subscribers_and_epoch() {
    let server = start(Hub::builder()).await;
    let empty = health(&server.url).await;
    assert_eq!(empty.status.as_u16(), 200);
    assert_eq!(empty.headers["content-type"], "application/json");
    assert_eq!(empty.headers["cache-control"], "no-store");
    let _one = subscribe(&server.url, &[]).await;
    let _two = subscribe(&server.url, &[]).await;
    let a = health(&server.url).await;
    assert_eq!(
        a.json,
        serde_json::json!({
            "status": "ok",
            "backplane": "in_memory",
            "subscribers": 2,
            "epoch": server.hub.epoch().to_string(),
        })
    );
    let post = answer(client().post(format!("{}/health", server.url))).await;
    assert_eq!(post.status.as_u16(), 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_hub_is_unavailable_within_5_s_of_redis_dying_and_ready_again_when_it_is_back() {
    let Some(mut redis) = redis_support::Redis::start("a_redis_hub_is_unavailable_…") else {
        return;
    };
    let server = start(Hub::builder().redis(redis.url())).await;
    let up = until(&server.url, 200, Duration::from_secs(10)).await;
    assert_eq!(up.json["status"], "ok");
    assert_eq!(up.json["backplane"], "up");
    assert_eq!(up.json["epoch"], server.hub.epoch().to_string());

    redis.kill();
    let down = until(&server.url, 503, Duration::from_secs(5)).await;
    assert_eq!(down.json["status"], "unavailable");
    assert_eq!(down.json["backplane"], "down");
    assert_eq!(down.json["subscribers"], 0);

    redis.restart_empty();
    // The reader retries with a backoff of at most 5 s.
    let back = until(&server.url, 200, Duration::from_secs(15)).await;
    assert_eq!(back.json["backplane"], "up");
}
