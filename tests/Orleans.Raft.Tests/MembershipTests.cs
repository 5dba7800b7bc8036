using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Raft.Storage;
using Raft.Core.Runtime;
using Raft.Testing.Logging;
using Raft.Testing.Processes;

namespace Orleans.Raft.Tests;

// Changing the Raft group at run time: a silo joins as a voter, another leaves, and the grain state stays whole.
[Trait("Category", "Slow")]
public sealed class MembershipTests
{
    private static readonly string[] InitialVoters = ["Silo_0", "Silo_1", "Silo_2"];

    // Replacing a voter (the way back from a silo whose data was lost: a new silo under a new name takes its place).
    // Silo_3 is in Members from the start but not an initial voter: its start waits until the leader adds it. Once
    // Silo_0 is removed and stopped, losing one more of the original silos leaves two of the three voters, a quorum
    // only because Silo_3 counts; every acknowledged write is still there, and Silo_3 holds it.
    // Over the in-memory network and over gRPC (each silo's own Kestrel endpoint; the joining one's address is in
    // Members from the start).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AJoiningSiloBecomesAVoter_AndReplacesARemovedOne_WithoutLosingAWrite(bool useGrpc)
    {
        var log = new TestLog();
        var joiningAddress = useGrpc ? $"127.0.0.1:{FreePorts.Next()}" : "in-memory";
        await using var cluster = await RaftTestCluster.StartAsync(
            configure: o =>
            {
                o.Members["Silo_3"] = joiningAddress;
                o.InitialVoters = InitialVoters;
            },
            useGrpc: useGrpc,
            configureSilo: silo => silo.Services.AddLogging(b => b.AddProvider(log.AsProvider())));
        var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ICounterGrain>($"members-{i}")).ToArray();
        var rounds = new CounterRounds(grains);
        await rounds.RunAsync(3);
        Assert.All(rounds.Uncertain, u => Assert.Equal(0, u));

        var joining = cluster.Cluster.StartAdditionalSiloAsync();
        await WaitUntilAsync(() => log.Entries.Any(e => e.EventId.Id == 4012 && e.Message.Contains("Silo_3", StringComparison.Ordinal)), "Silo_3 to say it waits to be added");
        Assert.False(joining.IsCompleted, "Silo_3's start must wait until the leader adds it.");

        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));
        var leader = RaftTestCluster.Storage(leaderSilo);
        var follower = RaftTestCluster.Storage(cluster.Cluster.Silos.First(s => s != leaderSilo));
        await Assert.ThrowsAsync<NotLeaderException>(() => follower.AddVoterAsync("Silo_3"));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => leader.AddVoterAsync("Silo_9"));
        Assert.Contains("not in Members", unknown.Message, StringComparison.Ordinal);

        var added = await leader.AddVoterAsync("Silo_3");
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2", "Silo_3"], added.Voters);
        Assert.Equal(added, await leader.AddVoterAsync("Silo_3"));
        var newSilo = await joining.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains(log.Entries, e => e.EventId.Id == 4013);
        await rounds.RunAsync(3);

        // Silo_0 leaves (it may be the leader: then it steps down once its removal commits).
        var removed = await RetryOnLeaderAsync(cluster, s => s.RemoveMemberAsync("Silo_0"));
        Assert.Equal(["Silo_1", "Silo_2", "Silo_3"], removed.Voters);
        await cluster.Cluster.StopSiloAsync(cluster.Cluster.Silos.Single(s => RaftTestCluster.Storage(s).NodeId == "Silo_0"));
        await rounds.RunAsync(3);

        // One more original silo dies: Silo_2 and Silo_3 are a quorum of the new voters.
        var victim = cluster.Cluster.Silos.Single(s => s.IsActive && RaftTestCluster.Storage(s).NodeId == "Silo_1");
        if (!useGrpc)
        {
            cluster.Network.Network.Isolate("Silo_1"); // a crash as Raft sees it: no leadership handed over
        }

        await cluster.Cluster.KillSiloAsync(victim);
        await rounds.RunAsync(5);
        Assert.True(rounds.Acknowledged.Sum() > grains.Length * 9, $"writes must go on with Silo_2 and Silo_3; last failure: {rounds.LastFailure}");

        var newStorage = RaftTestCluster.Storage(newSilo);
        for (var i = 0; i < grains.Length; i++)
        {
            var stored = await grains[i].Get();
            Assert.InRange(stored, rounds.Acknowledged[i], rounds.Acknowledged[i] + rounds.Uncertain[i]);
            var read = new TestState();
            await newStorage.ReadStateAsync("s", grains[i].GetGrainId(), read);
            Assert.Equal(stored, read.State.Value);
        }
    }

    // The initial voters are recorded at a node's first start; a restart with other ones (here: Members grew and
    // InitialVoters was left to default to all of them) is refused with what to set.
    [Fact]
    public async Task ARestartWithOtherInitialVoters_IsRefused_SayingWhichToSet()
    {
        var directory = RaftTestCluster.NewDataDirectory();
        try
        {
            await using (var first = await RaftTestCluster.StartAsync(dataDirectory: directory))
            {
                Assert.Equal(1, await first.Client.GetGrain<ICounterGrain>("pinned").Increment());
            }

            var failure = await Assert.ThrowsAnyAsync<Exception>(
                () => RaftTestCluster.StartAsync(configure: o => o.Members["Silo_3"] = "in-memory", dataDirectory: directory));
            Assert.Contains("set InitialVoters to [Silo_0, Silo_1, Silo_2]", Flatten(failure), StringComparison.Ordinal);

            await using var pinned = await RaftTestCluster.StartAsync(
                configure: o =>
                {
                    o.Members["Silo_3"] = "in-memory";
                    o.InitialVoters = InitialVoters;
                },
                dataDirectory: directory);
            Assert.Equal(2, await pinned.Client.GetGrain<ICounterGrain>("pinned").Increment());
        }
        finally
        {
            RaftTestCluster.TryDelete(directory);
        }
    }

    private static string Flatten(Exception exception) =>
        exception is AggregateException aggregate
            ? string.Join(" | ", aggregate.Flatten().InnerExceptions.Select(Flatten))
            : exception.ToString();

    // Membership changes go to the leader; right after an election (or while leadership moves) retry shortly.
    private static async Task<T> RetryOnLeaderAsync<T>(RaftTestCluster cluster, Func<RaftGrainStorage, Task<T>> change)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var storage = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10)));
            try
            {
                return await change(storage);
            }
            catch (Exception ex) when (ex is NotLeaderException or ProposalDroppedException && stopwatch.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }
}
