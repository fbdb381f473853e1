// The Go peer: containerd/console's EpollConsole + Epoller, as its users run
// it. Built by bench/run.mjs from Debian's packaged sources, offline.
//   go-peer <W1|W2> '<arg>'   (W1: payload file; W2: trips)
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	"github.com/containerd/console"
)

const raw = "stty raw -echo cs8 -parenb"

func cpu() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func start(script string) (*console.Epoller, *console.EpollConsole, *exec.Cmd) {
	master, slavePath, err := console.NewPty()
	if err != nil {
		panic(err)
	}
	epoller, err := console.NewEpoller()
	if err != nil {
		panic(err)
	}
	ec, err := epoller.Add(master)
	if err != nil {
		panic(err)
	}
	go epoller.Wait()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("sh", "-c", raw+"; printf R; "+script)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	slave.Close()
	one := make([]byte, 1)
	for {
		if _, err := io.ReadFull(ec, one); err != nil || one[0] == 'R' {
			break
		}
	}
	return epoller, ec, cmd
}

type counter struct{ n int64; out *os.File }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.out != nil {
		c.out.Write(p)
	}
	return len(p), nil
}

func main() {
	out := map[string]interface{}{}
	switch os.Args[1] {
	case "W1":
		c0, t0 := cpu(), time.Now()
		epoller, ec, cmd := start("exec cat " + os.Args[2])
		cnt := &counter{}
		if path := os.Getenv("LIMIT_OUT"); path != "" {
			cnt.out, _ = os.Create(path)
		}
		done := make(chan struct{})
		go func() { io.Copy(cnt, ec); close(done) }()
		cmd.Wait()
		ec.Shutdown(epoller.CloseConsole)
		<-done
		out["bytes"], out["seconds"], out["cpuSeconds"] = cnt.n, time.Since(t0).Seconds(), cpu()-c0
	case "W2":
		var trips int
		fmt.Sscan(os.Args[2], &trips)
		_, ec, cmd := start("exec cat")
		msg := make([]byte, 64)
		buf := make([]byte, 64)
		lat := make([]float64, trips)
		c0 := cpu()
		for i := 0; i < trips; i++ {
			t := time.Now()
			ec.Write(msg)
			io.ReadFull(ec, buf)
			lat[i] = float64(time.Since(t).Nanoseconds()) / 1e3
		}
		cpuUs := (cpu() - c0) * 1e6 / float64(trips)
		sort.Float64s(lat)
		cmd.Process.Kill()
		out["trips"], out["p50"], out["p99"], out["cpuUsPerTrip"] = trips, lat[trips/2], lat[trips*99/100], cpuUs
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
