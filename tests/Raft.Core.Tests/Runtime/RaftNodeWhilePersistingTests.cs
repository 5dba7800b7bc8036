using System.Text;
using Raft.Core.Runtime;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// A leader steps its followers' acknowledgements while its own append runs, and applies what they commit at once
// (WhilePersisting); everything else waits for the append.
[Collection(RealTimeCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RaftNodeWhilePersistingTests
{
    [Fact]
    public async Task Leader_AppliesAnEntryItsFollowersMadeDurable_WhileItsOwnAppendOfItStillRuns()
    {
        var stores = new Dictionary<string, ScriptedLogStore>();
        await using var cluster = await StartAsync(stores);
        var leader = await WarmUpAsync(cluster);
        using var held = Hold(stores[leader.Id]);

        var result = await leader.ProposeAsync(Encoding.UTF8.GetBytes("x")).WaitAsync(Eventually.DefaultTimeout);

        Assert.False(held.Released);
        Assert.True(stores[leader.Id].LastIndex < result.Index, $"the leader's log store already holds entry {result.Index}");
        Assert.Equal("x", Encoding.UTF8.GetString(result.Response.Span));
        Assert.Contains((result.Index, "x"), cluster.StateMachine(leader.Id).Applied);

        held.Release();
        await Eventually.TrueAsync(() => stores[leader.Id].LastIndex >= result.Index, "the leader's own append to end");
        await cluster.WaitForAppliedAsync(result.Index);
    }

    [Fact]
    public async Task Leader_WhoseStoreSyncsOnTheCallingThread_StillAppliesWhatItsFollowersMadeDurable()
    {
        var stores = new Dictionary<string, ScriptedLogStore>();
        await using var cluster = await StartAsync(stores);
        var leader = await WarmUpAsync(cluster);
        stores[leader.Id].BlockCallingThread = true;
        using var held = Hold(stores[leader.Id]);

        // The append runs off the consensus loop: a loop blocked in it could not step the acknowledgements.
        var result = await leader.ProposeAsync(Encoding.UTF8.GetBytes("x")).WaitAsync(Eventually.DefaultTimeout);

        Assert.False(held.Released);
        Assert.True(stores[leader.Id].LastIndex < result.Index, $"the leader's log store already holds entry {result.Index}");
        Assert.Contains((result.Index, "x"), cluster.StateMachine(leader.Id).Applied);
        held.Release();
        await Eventually.TrueAsync(() => stores[leader.Id].LastIndex >= result.Index, "the leader's own append to end");
    }

    // A store that fsyncs on its caller's thread must not hold a thread-pool thread through the fsync: on a 2-core
    // machine the pool has two, which the transport, the applier and the host all queue behind.
    [Fact]
    public async Task Leader_AppendsOnItsOwnLogWriteThread_NotOnAThreadPoolThread()
    {
        var stores = new Dictionary<string, ScriptedLogStore>();
        await using var cluster = await StartAsync(stores);
        var leader = await WarmUpAsync(cluster);
        stores[leader.Id].AppendThreads.Clear();

        for (var i = 0; i < 5; i++)
        {
            await leader.ProposeAsync(Encoding.UTF8.GetBytes($"x{i}")).WaitAsync(Eventually.DefaultTimeout);
        }

        await Eventually.TrueAsync(() => stores[leader.Id].LastIndex >= leader.Status.CommitIndex, "the leader's own appends to end");
        Assert.NotEmpty(stores[leader.Id].AppendThreads);
        Assert.All(stores[leader.Id].AppendThreads, thread =>
        {
            Assert.False(thread.ThreadPool, "the leader appended on a thread-pool thread");
            Assert.Equal($"raft-log-{leader.Id}", thread.Name);
        });
    }

    // A node reports itself stopped only once nothing writes to its stores any more: the host may dispose them then.
    [Fact]
    public async Task Leader_StoppedWithItsApplierBehind_ReportsStoppedOnlyAfterItsOwnAppendEnds()
    {
        var stores = new Dictionary<string, ScriptedLogStore>();
        await using var cluster = await TestCluster.StartAsync(
            logStore: id => stores[id] = new ScriptedLogStore(new CallLog()),
            configure: options => options with
            {
                Raft = options.Raft with { ElectionTick = 100 },
                MaxPendingApplyBatches = 1,
                TransferLeadershipOnStop = false,
            });
        var leader = await WarmUpAsync(cluster);
        var followers = cluster.Ids.Where(id => id != leader.Id).ToList();
        cluster.StateMachine(leader.Id).Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var held = Hold(stores[leader.Id]);

        // One commit at a time: the applier holds the first, the queue the second, and the third stays in the engine
        // (while its writes run, the loop hands the applier only what fits).
        var proposals = new List<Task<ProposalResult>>();
        for (var i = 0; i < 3; i++)
        {
            var before = stores[followers[0]].LastIndex;
            proposals.Add(leader.ProposeAsync(Encoding.UTF8.GetBytes($"x{i}")));
            await Eventually.TrueAsync(() => stores[followers[0]].LastIndex > before, $"a follower to hold x{i}");
            var index = stores[followers[0]].LastIndex;
            await Eventually.TrueAsync(() => leader.Status.CommitIndex >= index, $"the leader to commit x{i}");
            if (i == 0)
            {
                await Eventually.TrueAsync(() => cluster.StateMachine(leader.Id).GateWaiters == 1, "the applier to take x0");
            }
        }

        var stopping = leader.StopAsync();
        await Task.Delay(200);

        Assert.False(stopping.IsCompleted, "the leader reported itself stopped while its own append still ran");
        held.Release();
        await stopping.WaitAsync(Eventually.DefaultTimeout);
        Assert.All(proposals, p => Assert.True(p.IsCompleted));
    }

    [Fact]
    public async Task ProposalsArrivingWhileTheLeadersAppendRuns_AreReplicatedAndApplied_WithoutWaitingForIt()
    {
        var stores = new Dictionary<string, ScriptedLogStore>();
        await using var cluster = await StartAsync(stores);
        var leader = await WarmUpAsync(cluster);
        using var held = Hold(stores[leader.Id]);
        var first = await leader.ProposeAsync(Encoding.UTF8.GetBytes("first")).WaitAsync(Eventually.DefaultTimeout);

        var second = await leader.ProposeAsync(Encoding.UTF8.GetBytes("second")).WaitAsync(Eventually.DefaultTimeout);

        Assert.False(held.Released);
        Assert.True(second.Index > first.Index);
        Assert.True(stores[leader.Id].LastIndex < first.Index, $"the leader's log store already holds entry {first.Index}");
        held.Release();
        await cluster.WaitForAppliedAsync(second.Index);
        await Eventually.TrueAsync(() => stores[leader.Id].LastIndex >= second.Index, "the leader to write both entries");
        foreach (var id in cluster.Ids)
        {
            var applied = cluster.AppliedUpTo(id, second.Index);
            Assert.Equal([(first.Index, "first"), (second.Index, "second")], applied.Where(a => a.Index >= first.Index));
        }
    }

    [Fact]
    public async Task OtherRequestsArrivingWhileTheLeadersAppendRuns_WaitForIt()
    {
        var stores = new Dictionary<string, ScriptedLogStore>();
        await using var cluster = await StartAsync(stores);
        var leader = await WarmUpAsync(cluster);
        using var held = Hold(stores[leader.Id]);
        var written = await leader.ProposeAsync(Encoding.UTF8.GetBytes("x")).WaitAsync(Eventually.DefaultTimeout);

        var read = leader.WaitForLinearizableReadAsync();

        // Taken by the loop but not handed to the engine: a read could change nothing here, but ticks and other
        // nodes' requests, which share its path, could change the term while the append runs.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(read.IsCompleted, "a read was handled while the leader's append ran");
        held.Release();
        Assert.True(await read.WaitAsync(Eventually.DefaultTimeout) >= written.Index);
    }

    [Fact]
    public async Task LeaderWhoseAppendFailsAfterItApplied_RestartsAndAgreesWithTheOthers()
    {
        var stores = new Dictionary<string, ScriptedLogStore>();
        await using var cluster = await StartAsync(stores);
        var leader = await WarmUpAsync(cluster);
        var store = stores[leader.Id];
        using var held = Hold(store);
        var applied = await leader.ProposeAsync(Encoding.UTF8.GetBytes("kept")).WaitAsync(Eventually.DefaultTimeout);

        // The entry is committed by the followers' copies alone; the leader's own copy never reaches its disk.
        store.FailWith = new IOException("disk gone");
        held.Release();
        await Eventually.TrueAsync(() => leader.Completion.IsCompleted, "the leader to stop on the failed append");
        store.FailWith = null;
        store.PendingAppend = null;
        await cluster.RestartNodeAsync(leader.Id);

        var after = await cluster.ProposeWithRetryAsync("after");
        await cluster.WaitForAppliedAsync(after.Index);
        foreach (var id in cluster.Ids)
        {
            var log = cluster.AppliedUpTo(id, after.Index);
            Assert.Single(log, a => a.Command == "kept");
            Assert.Contains((applied.Index, "kept"), log);
        }
    }

    // Elections slow enough (1 s) that holding an append for a few hundred milliseconds never costs the leadership.
    private static Task<TestCluster> StartAsync(Dictionary<string, ScriptedLogStore> stores) =>
        TestCluster.StartAsync(
            logStore: id => stores[id] = new ScriptedLogStore(new CallLog()),
            configure: options => options with { Raft = options.Raft with { ElectionTick = 100 } });

    private static async Task<RaftNode> WarmUpAsync(TestCluster cluster)
    {
        var warmUp = await cluster.ProposeWithRetryAsync("warm-up");
        await cluster.WaitForAppliedAsync(warmUp.Index);
        return await cluster.WaitForLeaderAsync();
    }

    // The store's appends from now on wait until the hold is released; disposing releases it, so that a failing test
    // does not leave a node stuck in its append when the cluster stops.
    private static HeldAppends Hold(ScriptedLogStore store)
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.PendingAppend = held;
        return new HeldAppends(held);
    }

    private sealed class HeldAppends(TaskCompletionSource held) : IDisposable
    {
        public bool Released => held.Task.IsCompleted;

        public void Release() => held.TrySetResult();

        public void Dispose() => Release();
    }
}
