using System.Diagnostics;
using System.Globalization;
using Raft.Core.Messages;
using Raft.Storage.Faster;

namespace Benchmarks.Storage;

/// <summary>
/// The <c>storage</c> benchmark: durable appends/s of <see cref="FasterLogStore"/> for 64 B and 1 KiB entries at batch
/// sizes 1, 16 and 256, and commit latency, each beside a raw baseline measured in the same run (a preallocated,
/// zero-filled file written with pwrite + fdatasync of the same bytes per batch) and beside the store writing through
/// the page cache (<see cref="FasterLogStoreOptions.DirectWrites"/> false: pwrite + fdatasync, where the default writes
/// with O_DIRECT | O_DSYNC); then the recovery time of a 1,000,000-entry log.
/// </summary>
/// <remarks>
/// Options: <c>--seconds N</c> per measurement (default 3), <c>--trials N</c> (default 3; configurations run
/// round-robin and the median trial is reported, since the disk is noisy), <c>--dir PATH</c> (default: a new directory
/// under the system temp directory, which must be on the disk to measure), <c>--recovery-entries N</c> (default
/// 1,000,000; 0 skips), <c>--quick</c> (1 s, 1 trial, 100,000 recovery entries).
/// </remarks>
public static class StorageBenchmark
{
    private static readonly int[] Payloads = [64, 1024];
    private static readonly int[] Batches = [1, 16, 256];

    /// <summary>Runs the benchmark and prints a markdown table.</summary>
    /// <param name="args">The command-line options (see the remarks).</param>
    /// <returns>The process exit code.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = 3.0;
        var trials = 3;
        var recoveryEntries = 1_000_000;
        string? root = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds":
                    seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--trials":
                    trials = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--dir":
                    root = args[++i];
                    break;
                case "--recovery-entries":
                    recoveryEntries = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--quick":
                    (seconds, trials, recoveryEntries) = (1, 1, 100_000);
                    break;
                case "storage":
                    break;
                default:
                    Console.Error.WriteLine($"unknown option '{args[i]}'; use --seconds N --trials N --dir PATH --recovery-entries N --quick");
                    return 2;
            }
        }

        root = Path.Combine(root ?? Path.GetTempPath(), "raft-storage-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            Console.WriteLine($"storage benchmark: {seconds} s per measurement, {trials} trials (median), directory {root}");
            var results = new Dictionary<(string Method, int Payload, int Batch), List<Measurement>>();
            for (var trial = 0; trial < trials; trial++)
            {
                foreach (var payload in Payloads)
                {
                    foreach (var batch in Batches)
                    {
                        foreach (var method in new[] { "raw", "faster", "buffered" })
                        {
                            var measurement = method == "raw"
                                ? await RawAsync(root, payload, batch, seconds)
                                : await FasterAsync(root, payload, batch, seconds, directWrites: method == "faster");
                            Console.WriteLine(FormattableString.Invariant(
                                $"  trial {trial + 1} {method,-8} {payload,5} B x {batch,3}: {measurement.EntriesPerSecond,10:N0} entries/s, commit p50 {measurement.P50Us,7:N0} us, p99 {measurement.P99Us,7:N0} us"));
                            (results.TryGetValue((method, payload, batch), out var list) ? list : results[(method, payload, batch)] = []).Add(measurement);
                        }
                    }
                }
            }

            Console.WriteLine();
            Console.WriteLine("| entry | batch | FasterLogStore entries/s | raw pwrite+fdatasync entries/s | ratio | FasterLogStore commit p50 / p99 (µs) | raw p50 / p99 (µs) | p50 ratio | buffered store entries/s (ratio) | buffered p50 / p99 (µs) |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var payload in Payloads)
            {
                foreach (var batch in Batches)
                {
                    var faster = Median(results[("faster", payload, batch)]);
                    var raw = Median(results[("raw", payload, batch)]);
                    var buffered = Median(results[("buffered", payload, batch)]);
                    Console.WriteLine(FormattableString.Invariant(
                        $"| {(payload == 64 ? "64 B" : "1 KiB")} | {batch} | {faster.EntriesPerSecond:N0} | {raw.EntriesPerSecond:N0} | {faster.EntriesPerSecond / raw.EntriesPerSecond:P0} | {faster.P50Us:N0} / {faster.P99Us:N0} | {raw.P50Us:N0} / {raw.P99Us:N0} | {faster.P50Us / raw.P50Us:N2}x | {buffered.EntriesPerSecond:N0} ({buffered.EntriesPerSecond / raw.EntriesPerSecond:P0}) | {buffered.P50Us:N0} / {buffered.P99Us:N0} |"));
                }
            }

            if (recoveryEntries > 0)
            {
                Console.WriteLine();
                await RecoveryAsync(root, recoveryEntries);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static Measurement Median(List<Measurement> trials) => trials.OrderBy(m => m.EntriesPerSecond).ElementAt(trials.Count / 2);

    private static Entry[] NewBatch(long first, int count, int payload)
    {
        var data = new byte[payload];
        Random.Shared.NextBytes(data);
        var entries = new Entry[count];
        for (var i = 0; i < count; i++)
        {
            entries[i] = new Entry(first + i, 1, EntryType.Normal, data);
        }

        return entries;
    }

    private static async Task<Measurement> FasterAsync(string root, int payload, int batch, double seconds, bool directWrites)
    {
        var directory = Path.Combine(root, $"faster-{payload}-{batch}-{Guid.NewGuid():N}");
        var store = await FasterLogStore.OpenAsync(new FasterLogStoreOptions { Directory = directory, DirectWrites = directWrites });
        try
        {
            var next = 1L;
            return await MeasureAsync(seconds, batch, async () =>
            {
                var entries = NewBatch(next, batch, payload);
                await store.AppendAsync(entries);
                next += batch;
                if (next % 65536 < batch)
                {
                    // Keep the log bounded, as snapshots would.
                    await store.CompactAsync(next - 1024);
                }
            });
        }
        finally
        {
            await store.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    // The same bytes per batch as the store writes (payload + 36 bytes of headers per entry) with one pwrite and one
    // fdatasync into a preallocated, zero-filled file: the floor for a durable append on this disk.
    private static async Task<Measurement> RawAsync(string root, int payload, int batch, double seconds)
    {
        const long fileSize = 64L << 20;
        var path = Path.Combine(root, $"raw-{payload}-{batch}-{Guid.NewGuid():N}");
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
        var zeros = new byte[1 << 20];
        for (long offset = 0; offset < fileSize; offset += zeros.Length)
        {
            RandomAccess.Write(handle, zeros, offset);
        }

        RawSync.FlushData(handle);
        var buffer = new byte[batch * (payload + 36)];
        Random.Shared.NextBytes(buffer);
        var position = 0L;
        try
        {
            return await MeasureAsync(seconds, batch, () =>
            {
                if (position + buffer.Length > fileSize)
                {
                    position = 0;
                }

                RandomAccess.Write(handle, buffer, position);
                RawSync.FlushData(handle);
                position += buffer.Length;
                return Task.CompletedTask;
            });
        }
        finally
        {
            handle.Dispose();
            File.Delete(path);
        }
    }

    private static async Task<Measurement> MeasureAsync(double seconds, int batch, Func<Task> commit)
    {
        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed.TotalSeconds < Math.Min(0.5, seconds / 4))
        {
            await commit();
        }

        var latencies = new List<double>(100_000);
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var started = Stopwatch.GetTimestamp();
            await commit();
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }

        var elapsed = total.Elapsed.TotalSeconds;
        latencies.Sort();
        return new Measurement(latencies.Count * batch / elapsed, latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.99)]);
    }

    private static async Task RecoveryAsync(string root, int count)
    {
        var directory = Path.Combine(root, "recovery");
        var options = new FasterLogStoreOptions { Directory = directory };
        await using (var store = await FasterLogStore.OpenAsync(options))
        {
            for (var next = 1; next <= count; next += 1000)
            {
                await store.AppendAsync(NewBatch(next, Math.Min(1000, count - next + 1), 64));
            }
        }

        var bytes = Directory.EnumerateFiles(directory, "log.*").Sum(f => new FileInfo(f).Length);
        for (var run = 1; run <= 2; run++)
        {
            var open = Stopwatch.StartNew();
            await using var store = await FasterLogStore.OpenAsync(options);
            var opened = open.Elapsed;
            var entries = await store.ReadAsync(store.FirstIndex, store.LastIndex);
            var read = open.Elapsed;
            Console.WriteLine(FormattableString.Invariant(
                $"recovery run {run}: {entries.Count:N0} entries of 64 B ({bytes / (1 << 20):N0} MiB of segments): open (scan + index) {opened.TotalMilliseconds:N0} ms, open + read every entry {read.TotalMilliseconds:N0} ms"));
        }
    }

    private readonly record struct Measurement(double EntriesPerSecond, double P50Us, double P99Us);
}
