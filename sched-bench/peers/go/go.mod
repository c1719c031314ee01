module kairos/sched-bench/peers/go

go 1.19
