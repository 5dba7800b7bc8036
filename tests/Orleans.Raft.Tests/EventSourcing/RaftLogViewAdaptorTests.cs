using Orleans.Configuration;
using Orleans.Raft.EventSourcing;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Tests.EventSourcing;

// The log-view adaptor against an in-memory journal with injected faults: what it appends, how it settles lost
// answers, how two activations of one grain share the journal, snapshots and trimming.
public sealed class RaftLogViewAdaptorTests
{
    private readonly InMemoryEventJournal _journal = new();

    [Fact]
    public async Task ConfirmEvents_AppendsOnlyTheNewEvents_AndAnotherActivationReplaysTheSameState()
    {
        var a = await AdaptorHarness.ActivateAsync(_journal, "g");
        Assert.Equal(1, await a.AddAsync(5));
        Assert.Equal(3, await a.AddAsync(7, 11));
        Assert.Equal(2, _journal.Appends);
        Assert.Equal([5, 7, 11], (await AdaptorHarness.ReadJournalAsync(_journal, "g")).Select(r => r.Amount));

        var b = await AdaptorHarness.ActivateAsync(_journal, "g");
        Assert.Equal(3, b.Adaptor.ConfirmedVersion);
        Assert.Equal([5, 7, 11], b.Adaptor.ConfirmedView.Amounts);
        Assert.Equal([7, 11], (await b.RetrieveLogSegment(1, 3)).Select(e => e.Amount));
    }

    [Theory]
    [InlineData(JournalFault.LoseAnswer)]   // applied, answer lost: must not be appended again
    [InlineData(JournalFault.LoseRequest)]  // not applied, writer cannot know: must not be lost
    [InlineData(JournalFault.Refuse)]       // certainly not applied: retried
    public async Task AFailedAppend_EndsUpInTheJournalExactlyOnce(JournalFault fault)
    {
        var a = await AdaptorHarness.ActivateAsync(_journal, "g");
        await a.AddAsync(1);
        var faults = 0;
        _journal.Faults = op => op == "append" && faults++ < 2 ? fault : JournalFault.None;

        Assert.Equal(3, await a.AddAsync(2, 3));
        _journal.Faults = _ => JournalFault.None;
        Assert.Equal(4, await a.AddAsync(4));

        Assert.Equal([1, 2, 3, 4], (await AdaptorHarness.ReadJournalAsync(_journal, "g")).Select(r => r.Amount));
        Assert.Equal([1, 2, 3, 4], a.Adaptor.ConfirmedView.Amounts);
        Assert.True(a.Host.Issues > 0);
        Assert.Empty(a.Services.ProtocolErrors);
    }

    // A failover: two activations of one grain append at once, through lost answers and refusals. The journal must be
    // one history holding every event exactly once, each writer's events in the order it raised them, and both views
    // must end equal to it.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task TwoActivationsWritingConcurrently_NeverForkLoseOrDuplicateEvents(int seed)
    {
        var random = new Random(seed);
        _journal.Faults = _ =>
        {
            lock (random)
            {
                return random.Next(10) switch { 0 => JournalFault.LoseAnswer, 1 => JournalFault.LoseRequest, 2 => JournalFault.Refuse, _ => JournalFault.None };
            }
        };
        var a = await AdaptorHarness.ActivateAsync(_journal, "g");
        var b = await AdaptorHarness.ActivateAsync(_journal, "g");

        async Task WriteAsync(AdaptorHarness.Activation activation, int offset)
        {
            for (var i = 0; i < 40; i++)
            {
                await activation.AddAsync(offset + i);
                await Task.Yield();
            }
        }

        await Task.WhenAll(Task.Run(() => WriteAsync(a, 1000)), Task.Run(() => WriteAsync(b, 2000)));
        _journal.Faults = _ => JournalFault.None;
        await a.Synchronize();
        await b.Synchronize();

        var journal = await AdaptorHarness.ReadJournalAsync(_journal, "g");
        var amounts = journal.Select(r => r.Amount).ToList();
        Assert.Equal(80, amounts.Count);
        Assert.Equal(Enumerable.Range(1000, 40), amounts.Where(x => x < 2000));
        Assert.Equal(Enumerable.Range(2000, 40), amounts.Where(x => x >= 2000));
        Assert.Equal(amounts, a.Adaptor.ConfirmedView.Amounts);
        Assert.Equal(amounts, b.Adaptor.ConfirmedView.Amounts);
        Assert.Equal(80, a.Adaptor.ConfirmedVersion);
        Assert.Equal(80, b.Adaptor.ConfirmedVersion);
        Assert.Empty(a.Services.ProtocolErrors);
        Assert.Empty(b.Services.ProtocolErrors);
    }

    [Fact]
    public async Task ConditionalAppend_IsRefused_WhenAnotherActivationMovedTheVersion()
    {
        var a = await AdaptorHarness.ActivateAsync(_journal, "g");
        var b = await AdaptorHarness.ActivateAsync(_journal, "g");
        await b.AddAsync(1);

        Assert.False(await a.TryAppend(new LedgerEntry { Amount = 2 }));
        Assert.Equal(1, a.Adaptor.ConfirmedVersion);
        Assert.True(await a.TryAppend(new LedgerEntry { Amount = 3 }));
        Assert.Equal([1, 3], (await AdaptorHarness.ReadJournalAsync(_journal, "g")).Select(r => r.Amount));
    }

    [Fact]
    public async Task Snapshots_WithTrimmedHistory_ActivationLoadsTheSnapshot_AndOldEventsAreReportedTrimmed()
    {
        var options = new RaftLogConsistencyOptions { SnapshotInterval = 10, TrimHistory = true, MaxRetryDelay = TimeSpan.FromMilliseconds(20) };
        var a = await AdaptorHarness.ActivateAsync(_journal, "g", options);
        for (var i = 0; i < 35; i++)
        {
            await a.AddAsync(i);
        }

        var stored = await _journal.ReadAsync(AdaptorHarness.Key("g"), CancellationToken.None);
        Assert.Equal(30, stored.SnapshotCount);
        Assert.Equal(30, stored.FirstRetained);
        Assert.Equal(5, stored.Records.Count);

        var b = await AdaptorHarness.ActivateAsync(_journal, "g", options);
        Assert.Equal(35, b.Adaptor.ConfirmedVersion);
        Assert.Equal(Enumerable.Range(0, 35), b.Adaptor.ConfirmedView.Amounts);
        Assert.Equal([30, 31], (await b.RetrieveLogSegment(30, 32)).Select(e => e.Amount));
        await Assert.ThrowsAsync<RaftEventHistoryTrimmedException>(() => b.RetrieveLogSegment(29, 31));

        // The snapshot's writer table lets a writer whose records were trimmed still recognise its own batch.
        Assert.Equal(36, await b.AddAsync(35));
        Assert.Equal(37, await a.AddAsync(36));
        Assert.Equal(Enumerable.Range(0, 37), a.Adaptor.ConfirmedView.Amounts);
    }

    [Fact]
    public async Task Snapshots_KeepingHistory_EveryEventStaysReadable()
    {
        var options = new RaftLogConsistencyOptions { SnapshotInterval = 10, MaxRetryDelay = TimeSpan.FromMilliseconds(20) };
        var a = await AdaptorHarness.ActivateAsync(_journal, "g", options);
        for (var i = 0; i < 25; i++)
        {
            await a.AddAsync(i);
        }

        var stored = await _journal.ReadAsync(AdaptorHarness.Key("g"), CancellationToken.None);
        Assert.Equal(20, stored.SnapshotCount);
        Assert.Equal(0, stored.FirstRetained);
        var b = await AdaptorHarness.ActivateAsync(_journal, "g", options);
        Assert.Equal(Enumerable.Range(0, 25), b.Adaptor.ConfirmedView.Amounts);
        Assert.Equal(Enumerable.Range(0, 25), (await b.RetrieveLogSegment(0, 25)).Select(e => e.Amount));
    }

    // ClearLogAsync leaves a tombstone; an activation that still holds the old history is refused, replays the
    // (now empty) journal and appends on top of it rather than on its stale view.
    [Fact]
    public async Task ClearLog_EmptiesTheJournal_AndAStaleActivationStartsOver()
    {
        var a = await AdaptorHarness.ActivateAsync(_journal, "g");
        var b = await AdaptorHarness.ActivateAsync(_journal, "g");
        await a.AddAsync(1, 2, 3);
        await b.Synchronize();
        Assert.Equal(3, b.Adaptor.ConfirmedVersion);

        await a.ClearLogAsync();
        Assert.Equal(0, a.Adaptor.ConfirmedVersion);
        Assert.Empty(a.Adaptor.ConfirmedView.Amounts);
        Assert.Equal(0, _journal.Count(AdaptorHarness.Key("g")));

        Assert.Equal(1, await b.AddAsync(9));
        Assert.Equal([9], b.Adaptor.ConfirmedView.Amounts);
        Assert.Equal([9], (await AdaptorHarness.ReadJournalAsync(_journal, "g")).Select(r => r.Amount));
        await a.Synchronize();
        Assert.Equal([9], a.Adaptor.ConfirmedView.Amounts);
    }

    // A stale activation's snapshot that reaches the store after another activation cleared the journal and wrote a
    // new history past the snapshot's count: the store refuses it (another incarnation), so it trims nothing of the
    // new history and is not stored; the stale activation skips it and starts over from the new history.
    [Fact]
    public async Task AStaleSnapshot_AfterAClearAndNewEvents_IsRefused_AndTrimsNothing()
    {
        var options = new RaftLogConsistencyOptions { SnapshotInterval = 5, TrimHistory = true, MaxRetryDelay = TimeSpan.FromMilliseconds(20) };
        var gated = new GatedEventJournal(_journal);
        var a = await AdaptorHarness.ActivateAsync(gated, "g", options);
        var b = await AdaptorHarness.ActivateAsync(_journal, "g", new RaftLogConsistencyOptions { MaxRetryDelay = TimeSpan.FromMilliseconds(20) });
        await a.AddAsync(1, 2, 3, 4);

        // a's fifth event is appended; its snapshot at 5 (trimming [0, 5)) is held on the way to the store.
        gated.HoldSnapshots();
        var pending = a.AddAsync(5);
        await gated.SnapshotArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Meanwhile b clears the journal and writes seven new events: the new incarnation also reaches count 5.
        await b.Synchronize();
        await b.ClearLogAsync();
        int[] fresh = [10, 11, 12, 13, 14, 15, 16];
        Assert.Equal(7, await b.AddAsync(fresh));

        gated.ReleaseSnapshots();
        Assert.Equal(5, await pending);
        Assert.Equal(JournalSnapshotOutcome.IncarnationChanged, await gated.SnapshotOutcome.Task);
        Assert.Equal(1, _journal.SnapshotsRefused);

        var stored = await _journal.ReadAsync(AdaptorHarness.Key("g"), CancellationToken.None);
        Assert.Equal((7L, 0L, 0L), (stored.Count, stored.FirstRetained, stored.SnapshotCount));
        Assert.Null(stored.Snapshot);
        Assert.Equal(fresh, (await AdaptorHarness.ReadJournalAsync(_journal, "g")).Select(r => r.Amount));

        // The stale activation starts over from the new history, and a new activation replays all of it.
        await a.Synchronize();
        Assert.Equal(fresh, a.Adaptor.ConfirmedView.Amounts);
        var c = await AdaptorHarness.ActivateAsync(_journal, "g", options);
        Assert.Equal(fresh, c.Adaptor.ConfirmedView.Amounts);
        Assert.Empty(a.Services.ProtocolErrors);
        Assert.Empty(b.Services.ProtocolErrors);
    }

    // The hard case of a lost answer: the batch landed, and before this activation could read the journal again,
    // another one appended past a snapshot that trimmed the batch's record away. The snapshot's writer table still
    // names this activation's last sequence number, so it confirms the batch instead of appending it a second time.
    [Fact]
    public async Task ALostAnswer_WhoseRecordWasTrimmedByAnotherActivation_IsRecognisedFromTheSnapshot()
    {
        var options = new RaftLogConsistencyOptions { SnapshotInterval = 5, TrimHistory = true, MaxRetryDelay = TimeSpan.FromMilliseconds(20) };
        var gated = new GatedEventJournal(_journal);
        var a = await AdaptorHarness.ActivateAsync(gated, "g", options);
        var b = await AdaptorHarness.ActivateAsync(_journal, "g", options);
        await a.AddAsync(1, 2);

        var lost = 0;
        _journal.Faults = op => op == "append" && Interlocked.Exchange(ref lost, 1) == 0 ? JournalFault.LoseAnswer : JournalFault.None;
        gated.Close();
        var appendsBefore = _journal.Appends;
        var pending = a.AddAsync(100);
        while (_journal.Appends == appendsBefore)
        {
            await Task.Delay(5);
        }

        // a's batch is in the journal at position 2; b catches up and appends until a snapshot trims it away.
        await b.Synchronize();
        for (var i = 0; i < 6; i++)
        {
            await b.AddAsync(200 + i);
        }

        var stored = await _journal.ReadAsync(AdaptorHarness.Key("g"), CancellationToken.None);
        Assert.True(stored.FirstRetained > 2, $"the record at 2 should be trimmed (first retained {stored.FirstRetained})");

        gated.Open();
        Assert.Equal(9, await pending);
        List<int> expected = [1, 2, 100, 200, 201, 202, 203, 204, 205];
        Assert.Equal(expected, a.Adaptor.ConfirmedView.Amounts);
        Assert.Equal(9, _journal.Count(AdaptorHarness.Key("g")));
        await b.Synchronize();
        Assert.Equal(expected, b.Adaptor.ConfirmedView.Amounts);
        Assert.Empty(a.Services.ProtocolErrors);
    }

    // A stale conditional event is dropped from the middle of the pending events ([10, 11, c12, 13] becomes
    // [10, 11, 13]), so the sequence numbers of the next batch have a hole. That batch lands but its answer is lost,
    // and meanwhile the grain raised 14: settling must confirm the three events that landed, not four (14 was never
    // appended and must still be).
    [Fact]
    public async Task ALostAnswer_AfterAStaleConditionalEventWasDropped_ConfirmsOnlyTheEventsThatLanded()
    {
        var a = await AdaptorHarness.ActivateAsync(_journal, "g");
        var b = await AdaptorHarness.ActivateAsync(_journal, "g");
        await b.AddAsync(1);

        var appends = 0;
        _journal.Faults = op =>
        {
            if (op != "append" || ++appends != 2)
            {
                return JournalFault.None;
            }

            // The grain raises another event while the append is in flight (this runs on a's scheduler).
            a.Adaptor.Submit(new LedgerEntry { Amount = 14 });
            return JournalFault.LoseAnswer;
        };

        var conditional = await a.Run(async x =>
        {
            x.Submit(new LedgerEntry { Amount = 10 });
            x.Submit(new LedgerEntry { Amount = 11 });
            var appended = x.TryAppend(new LedgerEntry { Amount = 12 });
            x.Submit(new LedgerEntry { Amount = 13 });
            await x.ConfirmSubmittedEntries();
            return appended;
        }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(await conditional.WaitAsync(TimeSpan.FromSeconds(30)));

        await a.Run(x => x.ConfirmSubmittedEntries()).WaitAsync(TimeSpan.FromSeconds(30));
        await a.Synchronize().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(a.Services.ProtocolErrors);
        Assert.Equal([1, 10, 11, 13, 14], (await AdaptorHarness.ReadJournalAsync(_journal, "g")).Select(r => r.Amount));
        Assert.Equal([1, 10, 11, 13, 14], a.Adaptor.ConfirmedView.Amounts);
        Assert.Equal(5, a.Adaptor.ConfirmedVersion);
    }

    [Fact]
    public async Task AnEventThatCannotBeSerialized_FailsInRaiseEvent_AndNothingIsQueued()
    {
        var a = await AdaptorHarness.ActivateAsync(_journal, "g");
        Assert.ThrowsAny<Exception>(() => a.Adaptor.Submit(null!));
        Assert.Empty(a.Adaptor.UnconfirmedSuffix);
    }
}
