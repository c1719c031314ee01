// Command gopeer runs sched-bench's micro-benchmark rows on the Go runtime, so kairos can be
// compared with goroutines in the same table. sched-bench builds it with the system's `go` and
// runs it with GOMAXPROCS set to the worker count of the kairos runs; it is a program of the
// project's own, with the standard library only.
//
// Each round prints one JSON object on its own line:
//
//	{"schema_version":1,"row":"ping_pong","round":0,"ops":100000,"elapsed_ns":12345678,"ns_per_op":123.4}
//
// The rows mirror sched-bench's (same counts):
//
//	spawn_many     100,000 goroutines that return at once; the main goroutine waits for all
//	yield_many     100 goroutines x 1,000 runtime.Gosched()
//	ping_pong      100,000 round trips over two channels of capacity 1
//	chained_spawn  a chain of 10,000 goroutines, each starting the next; the last signals
//	worker_pool    1,000,000 messages through one buffered channel (capacity 100) to 3 workers
//	spawn_sleep    1,000,000 goroutines sleeping 1 s: resident bytes per goroutine (VmRSS growth)
//	periodic       a 1 ms periodic goroutine (absolute release times) beside 8 goroutines that
//	               spin for 50 us and yield, for 2 s: release-to-run latency percentiles
//
// Flags: -row NAME, -rounds N (JSON lines), -warmup N (unrecorded rounds first, default 0),
// -tasks N (spawn_sleep's goroutines, default 1,000,000), -secs N (periodic's measured run,
// default 2). GOMAXPROCS comes from the environment, as for any Go program.
//
// Percentiles are exact over the recorded samples with the nearest-rank rule (the value at rank
// ceil(q*n) of the sorted samples), which is what HdrHistogram reports up to its bucket
// precision.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	spawnMany     = 100_000
	yieldTasks    = 100
	yieldsPerTask = 1_000
	roundTrips    = 100_000
	chainDepth    = 10_000
	poolMessages  = 1_000_000
	poolCapacity  = 100
	poolWorkers   = 3
	sleepFor      = time.Second
	period        = time.Millisecond
	busyTasks     = 8
	busySlice     = 50 * time.Microsecond
)

var (
	// sleepers is spawn_sleep's goroutine count (-tasks).
	sleepers = 1_000_000
	// periodicRun is how long the periodic row records (-secs).
	periodicRun = 2 * time.Second
)

// result is one round of one row.
type result struct {
	SchemaVersion int      `json:"schema_version"`
	Row           string   `json:"row"`
	Round         int      `json:"round"`
	Ops           int      `json:"ops"`
	ElapsedNs     int64    `json:"elapsed_ns"`
	NsPerOp       float64  `json:"ns_per_op"`
	BytesPerTask  *float64 `json:"bytes_per_task,omitempty"`
	Latency       *latency `json:"latency_ns,omitempty"`
}

// latency is the release-to-run distribution of the periodic row, in nanoseconds.
type latency struct {
	Samples int     `json:"samples"`
	Mean    float64 `json:"mean"`
	P50     int64   `json:"p50"`
	P99     int64   `json:"p99"`
	P999    int64   `json:"p99_9"`
	Max     int64   `json:"max"`
}

var rows = map[string]func() result{
	"spawn_many":    runSpawnMany,
	"yield_many":    runYieldMany,
	"ping_pong":     runPingPong,
	"chained_spawn": runChainedSpawn,
	"worker_pool":   runWorkerPool,
	"spawn_sleep":   runSpawnSleep,
	"periodic":      runPeriodic,
}

func main() {
	row := flag.String("row", "", "row to run: "+strings.Join(rowNames(), ", "))
	rounds := flag.Int("rounds", 1, "rounds to run (one JSON line each)")
	warmup := flag.Int("warmup", 0, "unrecorded rounds before the recorded ones")
	tasks := flag.Int("tasks", sleepers, "spawn_sleep: goroutines")
	secs := flag.Int("secs", int(periodicRun/time.Second), "periodic: measured seconds")
	flag.Parse()
	run, ok := rows[*row]
	if !ok || *rounds < 1 || *warmup < 0 || *tasks < 1 || *secs < 1 {
		fmt.Fprintf(os.Stderr, "gopeer: -row must be one of %s; -rounds, -tasks and -secs "+
			"at least 1; -warmup at least 0\n", strings.Join(rowNames(), ", "))
		os.Exit(2)
	}
	sleepers = *tasks
	periodicRun = time.Duration(*secs) * time.Second
	for i := 0; i < *warmup; i++ {
		run()
	}
	out := json.NewEncoder(os.Stdout)
	for i := 0; i < *rounds; i++ {
		r := run()
		r.SchemaVersion = 1
		r.Row = *row
		r.Round = i
		if r.Ops > 0 {
			r.NsPerOp = float64(r.ElapsedNs) / float64(r.Ops)
		}
		if err := out.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, "gopeer:", err)
			os.Exit(1)
		}
	}
}

func rowNames() []string {
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func timed(ops int, f func()) result {
	start := time.Now()
	f()
	return result{Ops: ops, ElapsedNs: time.Since(start).Nanoseconds()}
}

func runSpawnMany() result {
	return timed(spawnMany, func() {
		var wg sync.WaitGroup
		wg.Add(spawnMany)
		for i := 0; i < spawnMany; i++ {
			go wg.Done()
		}
		wg.Wait()
	})
}

func runYieldMany() result {
	return timed(yieldTasks*yieldsPerTask, func() {
		var wg sync.WaitGroup
		wg.Add(yieldTasks)
		for i := 0; i < yieldTasks; i++ {
			go func() {
				for j := 0; j < yieldsPerTask; j++ {
					runtime.Gosched()
				}
				wg.Done()
			}()
		}
		wg.Wait()
	})
}

func runPingPong() result {
	ping := make(chan int, 1)
	pong := make(chan int, 1)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	r := timed(roundTrips, func() {
		for i := 0; i < roundTrips; i++ {
			ping <- i
			if <-pong != i {
				panic("ping_pong: wrong value")
			}
		}
	})
	close(ping)
	<-pong
	return r
}

func chain(remaining int, done chan<- struct{}) {
	if remaining == 0 {
		done <- struct{}{}
		return
	}
	go chain(remaining-1, done)
}

func runChainedSpawn() result {
	done := make(chan struct{}, 1)
	return timed(chainDepth, func() {
		chain(chainDepth, done)
		<-done
	})
}

func runWorkerPool() result {
	return timed(poolMessages, func() {
		jobs := make(chan int, poolCapacity)
		sums := make(chan int, poolWorkers)
		for w := 0; w < poolWorkers; w++ {
			go func() {
				sum := 0
				for v := range jobs {
					sum += v
				}
				sums <- sum
			}()
		}
		for i := 0; i < poolMessages; i++ {
			jobs <- i
		}
		close(jobs)
		total := 0
		for w := 0; w < poolWorkers; w++ {
			total += <-sums
		}
		if total != poolMessages*(poolMessages-1)/2 {
			panic("worker_pool: lost messages")
		}
	})
}

// vmRSS is the process's resident memory in bytes.
func vmRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return -1
}

func runSpawnSleep() result {
	runtime.GC()
	before := vmRSS()
	var wg sync.WaitGroup
	wg.Add(sleepers)
	var started sync.WaitGroup
	started.Add(sleepers)
	start := time.Now()
	for i := 0; i < sleepers; i++ {
		go func() {
			started.Done()
			time.Sleep(sleepFor)
			wg.Done()
		}()
	}
	started.Wait()
	spawned := time.Since(start)
	// Every goroutine is parked in its sleep now (or about to be): measure before they wake.
	during := vmRSS()
	wg.Wait()
	r := result{Ops: sleepers, ElapsedNs: spawned.Nanoseconds()}
	if before >= 0 && during >= 0 {
		b := float64(during-before) / float64(sleepers)
		r.BytesPerTask = &b
	}
	return r
}

func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
	}
}

func runPeriodic() result {
	stop := make(chan struct{})
	var busy sync.WaitGroup
	busy.Add(busyTasks)
	for i := 0; i < busyTasks; i++ {
		go func() {
			defer busy.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				spin(busySlice)
				runtime.Gosched()
			}
		}()
	}
	jobs := int(periodicRun / period)
	samples := make([]int64, 0, jobs)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		release := start
		for j := 0; j < jobs; j++ {
			release = release.Add(period)
			time.Sleep(time.Until(release))
			samples = append(samples, time.Since(release).Nanoseconds())
		}
		close(done)
	}()
	<-done
	elapsed := time.Since(start)
	close(stop)
	busy.Wait()
	lat := percentiles(samples)
	return result{Ops: jobs, ElapsedNs: elapsed.Nanoseconds(), Latency: &lat}
}

func percentiles(samples []int64) latency {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	n := len(samples)
	if n == 0 {
		return latency{}
	}
	rank := func(q float64) int64 {
		i := int(math.Ceil(q*float64(n))) - 1
		if i < 0 {
			i = 0
		}
		return samples[i]
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	return latency{
		Samples: n,
		Mean:    sum / float64(n),
		P50:     rank(0.50),
		P99:     rank(0.99),
		P999:    rank(0.999),
		Max:     samples[n-1],
	}
}
