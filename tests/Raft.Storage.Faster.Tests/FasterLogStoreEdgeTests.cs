using Raft.Core.Messages;
using Raft.Testing.Conformance;
using Xunit.Abstractions;
using static Raft.Storage.Faster.Tests.FasterLogStoreTests;

namespace Raft.Storage.Faster.Tests;

// Edge cases of the FASTER log found by a bug hunt in session 30 (helper-49): a first entry too large for page 0, a
// crash during the first open or between a write and its sync, reads beside a reset, an append queued at dispose; and
// a random walk of appends, suffix replacements, compactions, resets and reopens against the in-memory store.
public sealed class FasterLogStoreEdgeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    // A crash leaves an unfinished batch past the recovered end of the log, inside the page. The next append after the
    // reopen does not fit the rest of that page and goes to the next one: the acknowledged append must survive.
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task Reopen_AfterATornTailAndAnAppendOnTheNextPage_KeepsTheAppend(bool directWrites, bool cleanClose)
    {
        var options = TestOptions.Tiny(_directory.Path) with { CheckpointInterval = TimeSpan.FromHours(1), DirectWrites = directWrites };
        var store = await FasterLogStore.OpenAsync(options);
        await store.AppendAsync(Entries(1, 40, term: 1, size: 1000)); // ~42 KB into the 64 KiB page
        await store.AppendAsync(Entries(41, 43, term: 1, size: 100)); // the batch the crash tears
        var (path, offset) = store.LocationOf(43);
        output.WriteLine($"entry 41 at {store.LocationOf(41).Offset}, entry 43 at {offset}");
        store.CloseWithoutCheckpoint();
        FileHardStateStoreTests.FlipByte(path, offset + 40);

        var reopened = await FasterLogStore.OpenAsync(options);
        Assert.Equal(40, reopened.LastIndex);
        await reopened.AppendAsync([Entry(41, 2, size: 30_000)]); // does not fit the rest of page 0
        output.WriteLine($"new entry 41 at {reopened.LocationOf(41)}");
        Assert.Equal(41, reopened.LastIndex);
        if (cleanClose)
        {
            await reopened.DisposeAsync();
        }
        else
        {
            reopened.CloseWithoutCheckpoint();
        }

        await using var third = await FasterLogStore.OpenAsync(options);
        Assert.Equal(41, third.LastIndex);
        RaftAssert.EntriesEqual([.. Entries(1, 40, 1, 1000), Entry(41, 2, size: 30_000)], await third.ReadAsync(1, 41));
    }

    [Fact]
    public async Task Append_ABatchLargerThanTheMemoryRing_CompletesAndReadsBack()
    {
        var options = TestOptions.Tiny(_directory.Path);
        await using (var store = await FasterLogStore.OpenAsync(options))
        {
            var batch = Entries(1, 20, term: 1, size: 30_000);
            await store.AppendAsync(batch).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            RaftAssert.EntriesEqual(batch, await store.ReadAsync(1, 20));
        }

        await using var reopened = await FasterLogStore.OpenAsync(options);
        Assert.Equal(20, reopened.LastIndex);
        RaftAssert.EntriesEqual(Entries(1, 20, term: 1, size: 30_000), await reopened.ReadAsync(1, 20));
    }

    [Fact]
    public async Task Append_EntriesOfMaxSizeAndEmpty_ReadBackAfterReopen()
    {
        var options = TestOptions.Tiny(_directory.Path) with { CacheSize = 0 };
        var max = options.MaxEntrySize;
        var entries = new List<Entry>();
        await using (var store = await FasterLogStore.OpenAsync(options))
        {
            for (var i = 1; i <= 12; i++)
            {
                var e = i % 3 == 0 ? new Entry(i, 1, EntryType.Normal, ReadOnlyMemory<byte>.Empty) : Entry(i, 1, size: i % 3 == 1 ? max : max - 8);
                entries.Add(e);
                await store.AppendAsync([e]);
            }

            var batch = Entries(13, 16, 2, size: max);
            entries.AddRange(batch);
            await store.AppendAsync(batch);
            RaftAssert.EntriesEqual(entries, await store.ReadAsync(1, 16));
        }

        await using var reopened = await FasterLogStore.OpenAsync(options);
        RaftAssert.EntriesEqual(entries, await reopened.ReadAsync(1, 16));
    }

    [Fact]
    public async Task Dispose_WhileAnAppendWaitsForTheWriter_DoesNotHangTheAppend()
    {
        var store = await FasterLogStore.OpenAsync(TestOptions.Log(_directory.Path));
        var big = Entries(1, 200, term: 1, size: 8000);
        var first = store.AppendAsync(big).AsTask();
        var dispose = store.DisposeAsync().AsTask();
        var second = store.AppendAsync(Entries(201, 201, 1)).AsTask();
        await Task.WhenAny(Task.WhenAll(first, dispose, second), Task.Delay(TimeSpan.FromSeconds(10)));
        output.WriteLine($"first {first.Status}, dispose {dispose.Status}, second {second.Status}");
        Assert.True(second.IsCompleted, "the queued append never completed");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => second);
    }

    // A crash during the very first open, after the first segment was zero-filled and before the metadata was written.
    [Fact]
    public async Task Open_AfterACrashDuringTheFirstOpen_Opens()
    {
        var options = TestOptions.Tiny(_directory.Path) with { ZeroFillSegments = true };
        File.WriteAllBytes(Path.Combine(_directory.Path, "log.meta"), new byte[2 * 4096]);
        File.WriteAllBytes(Path.Combine(_directory.Path, "log.0"), new byte[options.SegmentSize]);

        await using var store = await FasterLogStore.OpenAsync(options);
        Assert.Equal(0, store.LastIndex);
    }

    // FasterLog's first record starts at address 64 of page 0; a record longer than the rest of page 0 goes to page 1.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Reopen_WhenTheFirstEntryDoesNotFitTheFirstPage_KeepsIt(bool cleanClose)
    {
        var options = TestOptions.Tiny(_directory.Path) with { CheckpointInterval = TimeSpan.FromHours(1) };
        var entries = new[] { Entry(1, 1, size: options.MaxEntrySize), Entry(2, 1, size: 10) };
        var store = await FasterLogStore.OpenAsync(options);
        await store.AppendAsync(entries);
        if (cleanClose)
        {
            await store.DisposeAsync();
        }
        else
        {
            store.CloseWithoutCheckpoint();
        }

        await using var reopened = await FasterLogStore.OpenAsync(options);
        Assert.Equal(2, reopened.LastIndex);
        RaftAssert.EntriesEqual(entries, await reopened.ReadAsync(1, 2));
    }

    // The tolerance for a crash during the first open must not open a log that holds data as empty.
    [Fact]
    public async Task Open_WhenNoMetadataSlotIsValidAndASegmentHoldsRecords_Refuses()
    {
        var options = TestOptions.Tiny(_directory.Path);
        await using (var store = await FasterLogStore.OpenAsync(options))
        {
            await store.AppendAsync(Entries(1, 5, term: 1));
        }

        File.WriteAllBytes(Path.Combine(_directory.Path, "log.meta"), new byte[2 * 4096]);

        await Assert.ThrowsAsync<LogCorruptedException>(() => FasterLogStore.OpenAsync(options));
    }

    // Random appends, suffix replacements, compactions, resets and reopens (clean or not) against the in-memory store,
    // from fixed seeds; RAFT_FUZZ_SEED runs another one, RAFT_FUZZ_STEPS sets the length.
    [Theory]
    [Trait("Category", "Slow")]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomOperations_MatchTheInMemoryStore(int fixedSeed)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RAFT_FUZZ_SEED"), out var sd) ? sd : fixedSeed;
        var steps = int.TryParse(Environment.GetEnvironmentVariable("RAFT_FUZZ_STEPS"), out var st) ? st : 400;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var options = TestOptions.Tiny(_directory.Path) with { CacheSize = random.Next(2) == 0 ? 0 : 16 << 10, DirectWrites = random.Next(2) == 0, CheckpointInterval = TimeSpan.FromMilliseconds(random.Next(1, 200)) };
        var model = new Raft.Core.Storage.InMemoryLogStore();
        var store = await FasterLogStore.OpenAsync(options);
        long term = 1;
        long version = 0;
        int Size() => random.Next(10) switch
        {
            0 => options.MaxEntrySize - random.Next(0, 200),
            1 => random.Next(5_000, 40_000),
            2 => 0,
            _ => random.Next(1, 300),
        };
        try
        {
            for (var step = 0; step < steps; step++)
            {
                var roll = random.Next(100);
                string op;
                if (roll < 45 || model.LastIndex < model.FirstIndex)
                {
                    var from = model.LastIndex + 1;
                    var count = random.Next(1, 8);
                    var batch = Enumerable.Range(0, count).Select(i => new Entry(from + i, term, EntryType.Normal, Bytes(from + i, term, ++version, Size()))).ToArray();
                    op = $"append {from} x{count} t{term}";
                    await store.AppendAsync(batch);
                    await model.AppendAsync(batch);
                }
                else if (roll < 65)
                {
                    term++;
                    var from = random.NextInt64(model.FirstIndex, model.LastIndex + 2);
                    var count = random.Next(1, 6);
                    var batch = Enumerable.Range(0, count).Select(i => new Entry(from + i, term, EntryType.Normal, Bytes(from + i, term, ++version, Size()))).ToArray();
                    op = $"replace {from} x{count} t{term}";
                    await store.AppendAsync(batch);
                    await model.AppendAsync(batch);
                }
                else if (roll < 75)
                {
                    var through = random.NextInt64(model.FirstIndex, model.LastIndex + 1);
                    op = $"compact {through}";
                    await store.CompactAsync(through);
                    await model.CompactAsync(Math.Min(through, model.LastIndex - 1));
                }
                else if (roll < 79)
                {
                    var snapshot = model.LastIndex + random.Next(-3, 10);
                    snapshot = Math.Max(snapshot, 0);
                    op = $"reset {snapshot}";
                    await store.ResetAsync(snapshot);
                    await model.ResetAsync(snapshot);
                }
                else if (roll < 87)
                {
                    var clean = random.Next(2) == 0;
                    op = $"reopen clean={clean}";
                    if (clean)
                    {
                        await store.DisposeAsync();
                    }
                    else
                    {
                        store.CloseWithoutCheckpoint();
                    }

                    store = await FasterLogStore.OpenAsync(options);
                }
                else
                {
                    op = "read";
                }

                Assert.True(store.LastIndex == model.LastIndex, $"step {step} {op}: last {store.LastIndex} vs {model.LastIndex}");
                Assert.True(store.FirstIndex <= Math.Max(model.FirstIndex, model.LastIndex) , $"step {step} {op}: first {store.FirstIndex} vs {model.FirstIndex}");
                var first = Math.Max(store.FirstIndex, model.FirstIndex);
                if (first <= model.LastIndex)
                {
                    var a = random.NextInt64(first, model.LastIndex + 1);
                    var b = random.NextInt64(a, model.LastIndex + 1);
                    RaftAssert.EntriesEqual(await model.ReadAsync(a, b), await store.ReadAsync(a, b));
                }
            }
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    private static byte[] Bytes(long index, long term, long version, int size)
    {
        var data = new byte[size];
        new Random(HashCode.Combine(index, term, version)).NextBytes(data);
        return data;
    }

    // Reads running beside a reset (a follower installing a snapshot) may find the entries gone, but never report the
    // healthy log as corrupted. Two readers spin on their own threads for up to 20 s of resets.
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Read_ConcurrentWithReset_NeverReportsCorruption()
    {
        var options = TestOptions.Tiny(_directory.Path) with { CacheSize = 0 };
        await using var store = await FasterLogStore.OpenAsync(options);
        using var stop = new CancellationTokenSource();
        var corruptions = 0;
        var outOfRange = 0;
        var reads = 0;
        void Read()
        {
            while (!stop.IsCancellationRequested)
            {
                var first = store.FirstIndex;
                var last = store.LastIndex;
                if (last < first)
                {
                    continue;
                }

                try
                {
                    _ = store.ReadAsync(first, Math.Min(last, first + 3)).AsTask().GetAwaiter().GetResult();
                    Interlocked.Increment(ref reads);
                }
                catch (ArgumentOutOfRangeException)
                {
                    Interlocked.Increment(ref outOfRange);
                }
                catch (LogCorruptedException ex)
                {
                    if (Interlocked.Increment(ref corruptions) == 1)
                    {
                        output.WriteLine(ex.Message);
                    }
                }
            }
        }

        var readers = new[] { Task.Factory.StartNew(Read, TaskCreationOptions.LongRunning), Task.Factory.StartNew(Read, TaskCreationOptions.LongRunning) };
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        var rounds = 0;
        while (elapsed.Elapsed < TimeSpan.FromSeconds(20) && Volatile.Read(ref corruptions) == 0)
        {
            var from = store.LastIndex + 1;
            await store.AppendAsync(Entries(from, from + 7, term: 1, size: 20_000)); // ~160 KB: more than one 128 KiB segment
            await store.ResetAsync(store.LastIndex + 1);
            rounds++;
        }

        stop.Cancel();
        await Task.WhenAll(readers);
        output.WriteLine($"rounds {rounds}, reads {reads}, out of range {outOfRange}, corruptions {corruptions}");
        Assert.Equal(0, corruptions);
    }

    // Buffered writes: a crash between an append's write and its fdatasync leaves the batch complete in the page cache
    // but not on disk. Recovery finds it and reports it as part of the log (the node may then acknowledge it to the
    // leader), and records it as durable in the metadata; so it must make it durable first.
    [Fact]
    public async Task Open_AfterACrashBetweenAWriteAndItsSync_SyncsTheRecoveredBatchBeforeReportingIt()
    {
        var failSyncs = false;
        var synced = new List<string>();
        var options = TestOptions.Tiny(_directory.Path) with
        {
            DirectWrites = false,
            CheckpointInterval = TimeSpan.FromHours(1),
            FlushData = (handle, path) =>
            {
                if (failSyncs)
                {
                    throw new IOException("simulated crash before the fdatasync");
                }

                lock (synced)
                {
                    synced.Add(Path.GetFileName(path));
                }

                Raft.Storage.Faster.Internal.NativeIo.FlushData(handle, path);
            },
        };
        var store = await FasterLogStore.OpenAsync(options);
        await store.AppendAsync(Entries(1, 10, term: 1, size: 100));
        failSyncs = true;
        await Assert.ThrowsAsync<IOException>(async () => await store.AppendAsync(Entries(11, 20, term: 1, size: 100)));
        var segment = Path.GetFileName(store.LocationOf(10).Path);
        store.CloseWithoutCheckpoint();
        failSyncs = false;
        synced.Clear();

        await using var reopened = await FasterLogStore.OpenAsync(options);

        output.WriteLine($"recovered [{reopened.FirstIndex}, {reopened.LastIndex}], synced during open: {string.Join(", ", synced)}");
        if (reopened.LastIndex > 10)
        {
            Assert.Contains(segment, synced);
        }
    }
}
