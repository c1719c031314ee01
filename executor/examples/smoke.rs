//! Smoke run: spawn many tasks from inside and outside, and ping-pong over a waker.
fn main() {
    let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    let n = 100_000u64;
    let sum = rt.block_on(async move {
        let hs: Vec<_> = (0..n).map(|i| kairos::spawn(async move { i })).collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, n * (n - 1) / 2);
    let hs: Vec<_> = (0..1000)
        .map(|_| {
            rt.spawn(async {
                for _ in 0..100 {
                    kairos::yield_now().await;
                }
            })
        })
        .collect();
    rt.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    });
    let p = rt.block_on(rt.spawn(async { panic!("x") }));
    assert!(p.unwrap_err().is_panic());
    let pending: Vec<_> = (0..10)
        .map(|_| rt.spawn(std::future::pending::<()>()))
        .collect();
    println!("{:?}", rt.metrics());
    drop(rt);
    assert!(pending.iter().all(|p| p.is_finished()));
    println!("ok");
}
