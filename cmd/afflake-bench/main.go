// Command afflake-bench measures the transform: `gen` writes Awin-shaped
// response pages, `run` runs a command and reports its wall time,
// records/s, MB/s and peak RSS.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: afflake-bench gen|run …")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "afflake-bench:", err)
		os.Exit(1)
	}
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	pages := fs.Int("pages", 100, "pages to write")
	per := fs.Int("per-page", 2000, "transactions per page")
	out := fs.String("out", "bench/awin", "output directory")
	_ = fs.Parse(args)
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []string{"pending", "approved", "declined", "deleted"}
	devices := []string{"Desktop", "Mobile", "Tablet"}
	var total int64
	id := 900000000
	base := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for p := 0; p < *pages; p++ {
		var b strings.Builder
		b.WriteString("[")
		for i := 0; i < *per; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			id++
			st := statuses[rng.IntN(len(statuses))]
			tx := base.Add(time.Duration(rng.IntN(60*24*3600)) * time.Second)
			click := tx.Add(-time.Duration(rng.IntN(7*24*3600)) * time.Second)
			sale := fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100))
			comm := fmt.Sprintf("%d.%02d", rng.IntN(50), rng.IntN(100))
			if rng.IntN(50) == 0 {
				sale = "248.71766639999998"
			}
			validation := "null"
			if st != "pending" {
				validation = strconv.Quote(tx.Add(20 * 24 * time.Hour).Format("2006-01-02T15:04:05"))
			}
			decline := "null"
			if st == "declined" {
				decline = `"Order cancelled"`
			}
			dev := devices[rng.IntN(len(devices))]
			fmt.Fprintf(&b, `{"id":%d,"url":"https://www.example-publisher.co.uk/p/%d","advertiserId":%d,"publisherId":189069,`+
				`"commissionSharingPublisherId":null,"commissionSharingSelectedRatePublisherId":null,"campaign":null,`+
				`"siteName":"Example Publisher","commissionStatus":"%s","commissionAmount":{"amount":%s,"currency":"GBP"},`+
				`"saleAmount":{"amount":%s,"currency":"GBP"},"ipHash":"-%d","customerCountry":"GB",`+
				`"clickRefs":{"clickRef":"ref-%d","clickRef2":"sub-%d"},"clickDate":"%s","transactionDate":"%s",`+
				`"validationDate":%s,"type":"Commission group transaction","declineReason":%s,"voucherCodeUsed":false,`+
				`"voucherCode":null,"lapseTime":%d,"amended":false,"amendReason":null,"oldSaleAmount":null,`+
				`"oldCommissionAmount":null,"clickDevice":"%s","transactionDevice":"%s","customerAcquisition":"%s",`+
				`"publisherUrl":"https://www.example-publisher.co.uk","advertiserCountry":"GB","orderRef":"ORD-%d",`+
				`"customParameters":[{"key":"c","value":"%d"}],"transactionParts":[{"commissionGroupId":%d,"amount":%s,`+
				`"commissionAmount":%s,"commissionGroupCode":"DEFAULT","commissionGroupName":"Default Commission"}],`+
				`"paidToPublisher":%v,"paymentId":%d,"transactionQueryId":0,"originalSaleAmount":null}`,
				id, id, 1000+rng.IntN(500), st, comm, sale, rng.Int64(), rng.IntN(1000), rng.IntN(10),
				click.Format("2006-01-02T15:04:05"), tx.Format("2006-01-02T15:04:05"), validation, decline,
				rng.IntN(100000), dev, dev, []string{"NEW", "EXISTING"}[rng.IntN(2)], id, rng.IntN(9),
				rng.IntN(1000), sale, comm, st == "approved" && rng.IntN(3) == 0, rng.IntN(100000))
		}
		b.WriteString("]")
		name := filepath.Join(*out, fmt.Sprintf("page-%05d.json", p))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return err
		}
		total += int64(b.Len())
	}
	fmt.Printf("wrote %d pages × %d records = %d records, %.1f MB in %s\n", *pages, *per, *pages**per, float64(total)/1e6, *out)
	return nil
}

var recordsRe = regexp.MustCompile(`(\d+) records read`)

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	in := fs.String("in", "bench/awin", "the input directory, to compute MB/s")
	_ = fs.Parse(args)
	argv := fs.Args()
	if len(argv) == 0 {
		return fmt.Errorf("run: no command")
	}
	var inBytes int64
	_ = filepath.Walk(*in, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			inBytes += fi.Size()
		}
		return nil
	})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	var records int64
	sc := bufio.NewScanner(outPipe)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		if m := recordsRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			records += n
		}
	}
	err = cmd.Wait()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss float64
	if ru != nil {
		rss = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	fmt.Printf("transform: %d records, %.1f MB in %.2f s: %.0f records/s, %.1f MB/s, peak RSS %.0f MiB\n",
		records, float64(inBytes)/1e6, wall.Seconds(), float64(records)/wall.Seconds(), float64(inBytes)/1e6/wall.Seconds(), rss)
	return nil
}
