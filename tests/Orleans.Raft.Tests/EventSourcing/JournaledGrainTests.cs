using Orleans.Configuration;

namespace Orleans.Raft.Tests.EventSourcing;

// JournaledGrains on the Raft log-consistency provider in a shared 3-silo cluster (snapshot every 10 events).
[Collection(EventSourcingClusterCollection.Name)]
public sealed class JournaledGrainTests(EventSourcingClusterFixture fixture)
{
    private EventSourcingCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Events_SurviveDeactivation_AndRetrieveConfirmedEvents_ReadsThemFromTheJournal()
    {
        var grain = Cluster.Client.GetGrain<ILedgerGrain>("survives");
        for (var i = 1; i <= 12; i++)
        {
            Assert.Equal(i, await grain.Add(i));
        }

        Assert.Equal(15, await grain.AddMany([13, 14, 15]));
        await Cluster.Cluster.DeactivateAsync(grain);

        var state = await grain.GetState();
        Assert.Equal(Enumerable.Range(1, 15), state.Amounts);
        Assert.Equal(15, await grain.GetVersion());
        Assert.Equal(Enumerable.Range(1, 15), await grain.Events(0, 15));
        Assert.Equal(new[] { 4, 5 }, await grain.Events(3, 5));
    }

    [Fact]
    public async Task OnlyTheNewEventsAreAppended_TheJournalHoldsOneRecordPerEvent_AndASnapshotEveryTenEvents()
    {
        var grain = Cluster.Client.GetGrain<ILedgerGrain>("records");
        for (var i = 0; i < 23; i++)
        {
            await grain.Add(i);
        }

        var journal = EventSourcingCluster.Journal(Cluster.Cluster.Silos[0]);
        var stored = await journal.ReadAsync(AdaptorHarness.Key("records"), CancellationToken.None);
        Assert.Equal(23, stored.Count);
        Assert.Equal(0, stored.FirstRetained);
        Assert.Equal(20, stored.SnapshotCount);
        Assert.Equal(Enumerable.Range(0, 23), (await AdaptorHarness.ReadJournalAsync(journal, "records")).Select(r => r.Amount));
    }

    [Fact]
    public async Task ClearLog_EmptiesTheHistory_AndTheGrainGoesOnFromVersionZero()
    {
        var grain = Cluster.Client.GetGrain<ILedgerGrain>("cleared");
        await grain.AddMany([1, 2, 3]);
        await grain.Clear();
        Assert.Equal(0, await grain.GetVersion());
        Assert.Equal(1, await grain.Add(7));
        await Cluster.Cluster.DeactivateAsync(grain);
        Assert.Equal([7], (await grain.GetState()).Amounts);
    }

    // The provider confirms events and replays the journal through the grain's TransitionState: that is grain code, and
    // must run on the activation's scheduler, not on a pool thread beside the grain's other turns.
    [Fact]
    public async Task TransitionState_RunsOnTheActivationsScheduler_WhenEventsAreConfirmedAndReplayed()
    {
        var grain = Cluster.Client.GetGrain<ISchedulerProbeGrain>("scheduler");
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(i, await grain.Add(i));
        }

        Assert.Equal(0, await grain.TransitionsOutsideTheActivation());
        await Cluster.Cluster.DeactivateAsync(grain);
        Assert.Equal(6, await grain.Add(6));
        Assert.Equal(0, await grain.TransitionsOutsideTheActivation());
    }

    // A failover's second activation, played by adaptors on two different silos over the real Raft journal: the one
    // whose version moved gets false from a conditional event, and concurrent writers end with one linear history.
    [Fact]
    public async Task TwoActivationsOnDifferentSilos_ConditionalEventsAreRefused_AndConcurrentWritesStayOneHistory()
    {
        var journalA = EventSourcingCluster.Journal(Cluster.Cluster.Silos[0]);
        var journalB = EventSourcingCluster.Journal(Cluster.Cluster.Silos[1]);
        var options = new RaftLogConsistencyOptions { SnapshotInterval = 10, MaxRetryDelay = TimeSpan.FromMilliseconds(50) };
        var a = await AdaptorHarness.ActivateAsync(journalA, "two-activations", options);
        var b = await AdaptorHarness.ActivateAsync(journalB, "two-activations", options);

        await b.AddAsync(1);
        Assert.False(await a.TryAppend(new LedgerEntry { Amount = 2 }));
        Assert.True(await a.TryAppend(new LedgerEntry { Amount = 3 }));

        async Task WriteAsync(AdaptorHarness.Activation activation, int offset)
        {
            for (var i = 0; i < 25; i++)
            {
                await activation.AddAsync(offset + i);
            }
        }

        await Task.WhenAll(Task.Run(() => WriteAsync(a, 1000)), Task.Run(() => WriteAsync(b, 2000)));
        await a.Synchronize();
        await b.Synchronize();

        var amounts = (await AdaptorHarness.ReadJournalAsync(journalA, "two-activations")).Select(r => r.Amount).ToList();
        Assert.Equal(52, amounts.Count);
        Assert.Equal([1, 3], amounts.Take(2));
        Assert.Equal(Enumerable.Range(1000, 25), amounts.Where(x => x >= 1000 && x < 2000));
        Assert.Equal(Enumerable.Range(2000, 25), amounts.Where(x => x >= 2000));
        Assert.Equal(amounts, a.Adaptor.ConfirmedView.Amounts);
        Assert.Equal(amounts, b.Adaptor.ConfirmedView.Amounts);
    }
}
