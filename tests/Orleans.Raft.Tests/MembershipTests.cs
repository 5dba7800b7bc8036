using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Raft.Membership;
using Orleans.Raft.Networking;
using Orleans.Raft.Storage;
using Raft.Core.Runtime;
using Raft.Testing.Logging;
using Raft.Testing.Processes;
using Raft.Testing.Security;
using Raft.Transport.Grpc.Security;

namespace Orleans.Raft.Tests;

// Changing the Raft group at run time: a silo joins as a voter, another leaves, and the grain state stays whole.
[Trait("Category", "Slow")]
public sealed class MembershipTests
{
    // Replacing a silo whose data was lost: a new silo under a new name takes its place. Silo_1 dies; Silo_3, listed in
    // AdditionalMembers from the start, starts and waits until the leader adds it (first as a learner, as after a
    // call that failed half-way, then AddVoterAsync promotes it); Silo_1 is removed. Then another original silo dies:
    // the last one and Silo_3 are a quorum of the new voters only because Silo_3 counts, writes go on, and every
    // acknowledged write is there, on Silo_3 too. The promotion is called on a follower's silo, which forwards it to
    // the leader's, and the removal from the client through IRaftMembershipGrain. Over the in-memory network and over gRPC (each silo its own Kestrel endpoint).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ASiloThatLostItsData_IsReplacedUnderANewName_WithoutLosingAWrite(bool useGrpc)
    {
        var log = new TestLog();
        var joiningAddress = useGrpc ? $"127.0.0.1:{FreePorts.Next()}" : "in-memory";
        await using var cluster = await RaftTestCluster.StartAsync(
            configure: o => o.AdditionalMembers["Silo_3"] = joiningAddress,
            useGrpc: useGrpc,
            configureSilo: silo => silo.Services.AddLogging(b => b.AddProvider(log.AsProvider())));
        var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ICounterGrain>($"members-{i}")).ToArray();
        var rounds = new CounterRounds(grains);
        await rounds.RunAsync(3);
        Assert.All(rounds.Uncertain, u => Assert.Equal(0, u));

        await KillAsync(cluster, "Silo_1", useGrpc);
        await rounds.RunAsync(3);

        var joining = cluster.Cluster.StartAdditionalSiloAsync();
        await WaitUntilAsync(() => log.Entries.Any(e => e.EventId.Id == 4012 && e.Message.Contains("Silo_3", StringComparison.Ordinal)), "Silo_3 to say it waits to be added");
        Assert.False(joining.IsCompleted, "Silo_3's start must wait until the leader adds it.");

        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));
        var leader = RaftTestCluster.Storage(leaderSilo);
        var follower = RaftTestCluster.Storage(cluster.Cluster.Silos.First(s => s.IsActive && s != leaderSilo));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => follower.AddVoterAsync("Silo_9"));
        Assert.Contains("is in neither Members nor AdditionalMembers [Silo_3]", unknown.Message, StringComparison.Ordinal);

        // Called on a follower's silo, the change is forwarded to the leader's, which makes it.
        await leader.Node!.AddLearnerAsync("Silo_3");
        var added = await follower.AddVoterAsync("Silo_3");
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2", "Silo_3"], added.Voters);
        Assert.Empty(added.Learners);
        Assert.Equal(added, await leader.AddVoterAsync("Silo_3"));
        var newSilo = await joining.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains(log.Entries, e => e.EventId.Id == 4013);

        // From the client, through the membership grain.
        var removed = await RetryAsync(() => cluster.Client.GetGrain<IRaftMembershipGrain>(RaftTestCluster.ProviderName).RemoveMemberAsync("Silo_1"));
        Assert.Equal(["Silo_0", "Silo_2", "Silo_3"], removed.Voters);
        await rounds.RunAsync(3);

        // Another original silo dies, the leader if it is one (then the survivor needs Silo_3's vote to lead): every
        // commit from now on needs Silo_3.
        var leaderId = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10))).NodeId;
        var victim = leaderId is "Silo_0" or "Silo_2" ? leaderId : "Silo_0";
        var survivor = victim == "Silo_0" ? "Silo_2" : "Silo_0";
        await KillAsync(cluster, victim, useGrpc);
        var before = rounds.Acknowledged.Sum();
        await rounds.RunAsync(5);
        Assert.True(rounds.Acknowledged.Sum() - before >= grains.Length * 4, $"writes must go on with {survivor} and Silo_3; last failure: {rounds.LastFailure}");

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

    // Members is the group's initial configuration, recorded at each node's first start: a restart that grew it (a
    // joining silo put in Members rather than AdditionalMembers) is refused, saying what to set.
    [Fact]
    public async Task ARestartWithOtherMembers_IsRefused_SayingWhatToSet()
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
            Assert.Contains("set Members back to [Silo_0, Silo_1, Silo_2]", Flatten(failure), StringComparison.Ordinal);

            await using var fixedUp = await RaftTestCluster.StartAsync(configure: o => o.AdditionalMembers["Silo_3"] = "in-memory", dataDirectory: directory);
            Assert.Equal(2, await fixedUp.Client.GetGrain<ICounterGrain>("pinned").Increment());
        }
        finally
        {
            RaftTestCluster.TryDelete(directory);
        }
    }

    // A joining silo put in Members by mistake (on itself only) counts itself an initial voter and does not wait. Its
    // initial voters differ, and each node knows a fingerprint of its peers' (over gRPC on every call), so its peers
    // and it refuse each other: it takes no part in the group (it cannot vote, be elected or catch up; adding it never
    // completes, and the network says why: event 3005 on the leader over gRPC, 4206 in memory), while the group goes
    // on writing.
    [Theory]
    [InlineData(false, 4206)]
    [InlineData(true, 3005)]
    public async Task AJoiningSiloGivenOtherMembers_IsRefusedByThePeers_AndTheGroupGoesOn(bool useGrpc, int refusal)
    {
        var log = new TestLog();
        var joiningAddress = useGrpc ? $"127.0.0.1:{FreePorts.Next()}" : "in-memory";
        await using var cluster = await RaftTestCluster.StartAsync(
            configure: o => o.AdditionalMembers["Silo_3"] = joiningAddress,
            useGrpc: useGrpc,
            configureSilo: silo =>
            {
                silo.Services.AddLogging(b => b.AddProvider(log.AsProvider()));
                silo.Services.AddOptions<RaftGrainStorageOptions>(RaftTestCluster.ProviderName).Configure<IOptions<SiloOptions>>((o, siloOptions) =>
                {
                    if (siloOptions.Value.SiloName == "Silo_3")
                    {
                        o.AdditionalMembers.Clear();
                        o.Members["Silo_3"] = joiningAddress;
                    }
                });
            });
        var grain = cluster.Client.GetGrain<ICounterGrain>("misconfigured");
        Assert.Equal(1, await grain.Increment());

        var joining = await cluster.Cluster.StartAdditionalSiloAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2", "Silo_3"], RaftTestCluster.Storage(joining).Configuration!.Voters);

        var leader = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10), notNodeId: "Silo_3"));
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader.AddVoterAsync("Silo_3", giveUp.Token));
        Assert.Contains(log.Entries, e => e.EventId.Id == refusal && e.Message.Contains("Silo_3", StringComparison.Ordinal));
        Assert.DoesNotContain("Silo_3", leader.Configuration!.Voters);
        Assert.All(cluster.Storages.Where(s => s.NodeId != "Silo_3"), s => Assert.NotEqual("Silo_3", s.Node!.Status.LeaderId));

        await RetryOnLeaderAsync(cluster, s => s.RemoveMemberAsync("Silo_3"));
        for (var i = 2; i <= 6; i++)
        {
            Assert.Equal(i, await grain.Increment());
        }
    }

    // A change is in force on the leader as soon as it is appended, long before it commits. A leader cut off from the
    // others appends a removal that can never commit; the caller gives up and retries on the same leader, which finds
    // the member already gone. That retry must not report success: the others elect a leader without the entry, and the
    // member is still there. (A follower's silo, meanwhile, cannot forward the change to the cut-off leader at all.) (The election timeout is long here so that the cut-off leader keeps leading through both
    // calls.)
    [Fact]
    public async Task ARetryThatFindsItsChangeInForce_ButNotCommitted_DoesNotReportSuccess()
    {
        await using var cluster = await RaftTestCluster.StartAsync(configure: o =>
        {
            o.ElectionTick = 40;
            o.OperationTimeout = TimeSpan.FromSeconds(4);
        });
        Assert.Equal(1, await cluster.Client.GetGrain<ICounterGrain>("cut-off-change").Increment());
        var leader = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10)));
        var member = cluster.Storages.First(s => s != leader).NodeId;

        cluster.Network.Network.Isolate(leader.NodeId);
        var cutOff = await Assert.ThrowsAsync<NotLeaderException>(() => cluster.Storages.First(s => s.NodeId == member).RemoveMemberAsync(member));
        Assert.Contains("cannot reach node", cutOff.Message, StringComparison.Ordinal);
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader.RemoveMemberAsync(member, giveUp.Token));
        }

        Assert.True(leader.Node!.IsLeader, "the cut-off leader must still lead for the retry to meet its own change");
        Assert.DoesNotContain(member, leader.Configuration!.Voters);
        var retry = await Record.ExceptionAsync(() => leader.RemoveMemberAsync(member));
        Assert.True(retry is TimeoutException, $"a retry that cannot confirm the change must fail, not return it; it returned {(retry is null ? "the configuration" : retry.ToString())}");
        Assert.Contains("could not be confirmed committed within OperationTimeout", retry!.Message, StringComparison.Ordinal);

        var newLeader = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(20), notNodeId: leader.NodeId));
        cluster.Network.Network.Heal();
        Assert.Contains(member, newLeader.Configuration!.Voters);
        Assert.Equal(2, await cluster.Client.GetGrain<ICounterGrain>("cut-off-change").Increment());
        Assert.Contains(member, (await RetryOnLeaderAsync(cluster, s => Task.FromResult(s.Configuration!))).Voters);
    }

    // A follower removed while it was down never hears of it from the leader. Restarted from its data, its silo notices
    // that no leader answers, asks the others, and says it was removed (event 4014); its storage errors say so too,
    // instead of blaming the quorum.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFollowerRemovedWhileItWasDown_SaysSoWhenItComesBack(bool useGrpc)
    {
        var log = new TestLog();
        await using var cluster = await RaftTestCluster.StartAsync(
            configure: o => o.OperationTimeout = TimeSpan.FromSeconds(2),
            useGrpc: useGrpc,
            configureSilo: silo => silo.Services.AddLogging(b => b.AddProvider(log.AsProvider())));
        var grain = cluster.Client.GetGrain<ICounterGrain>("removed-while-down");
        Assert.Equal(1, await grain.Increment());
        var leaderId = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10))).NodeId;
        var victim = cluster.Cluster.Silos.First(s => s.IsActive && RaftTestCluster.Storage(s).NodeId != leaderId);
        var victimId = RaftTestCluster.Storage(victim).NodeId;

        await KillAsync(cluster, victimId, useGrpc);
        cluster.Network.Network.Heal();
        var removed = await RetryOnLeaderAsync(cluster, s => s.RemoveMemberAsync(victimId));
        Assert.DoesNotContain(victimId, removed.Voters);

        var back = RaftTestCluster.Storage((await cluster.Cluster.RestartSiloAsync(victim))!);
        await WaitUntilAsync(() => log.Entries.Any(e => e.EventId.Id == 4014 && e.Message.Contains($"node {victimId} is not a member", StringComparison.Ordinal)), $"{victimId} to say it was removed");
        var failure = await Assert.ThrowsAsync<RaftQuorumUnavailableException>(() => back.ReadStateAsync("s", grain.GetGrainId(), new TestState()));
        Assert.Contains($"This silo's Raft node {victimId} is not a member of the Raft group", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(log.Entries, e => e.EventId.Id == 4014 && !e.Message.Contains(victimId, StringComparison.Ordinal));

        // Its data is intact, so it may be added back (after a leadership change: not in the term it was removed in);
        // then it hears from the leader, and says it is a member after all.
        var leader = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10)));
        var other = cluster.Storages.First(s => s.NodeId != leader.NodeId && s.NodeId != victimId);
        await leader.Node!.TransferLeadershipAsync(other.NodeId);
        var readded = await RetryOnLeaderAsync(cluster, s => s.AddVoterAsync(victimId));
        Assert.Contains(victimId, readded.Voters);
        await WaitUntilAsync(() => log.Entries.Any(e => e.EventId.Id == 4015 && e.Message.Contains(victimId, StringComparison.Ordinal)), $"{victimId} to say it is a member after all");
        var read = new TestState();
        await back.ReadStateAsync("s", grain.GetGrainId(), read);
        Assert.Equal(1, read.State.Value);
    }

    // Over TLS, each silo with its own certificate (named after its silo, which the transport binds to its node id):
    // grains' writes on followers' silos reach the leader, and a change called on a follower's silo is forwarded to the
    // leader's on the transport's channel, and made there.
    [Fact]
    public async Task OverTls_AChangeCalledOnAFollowersSilo_IsMadeByTheLeadersSilo()
    {
        using var ca = TestCertificates.CreateCa("membership-tests-ca");
        var certificates = Enumerable.Range(0, 3).ToDictionary(i => $"Silo_{i}", i => TestCertificates.CreateNode(ca, $"Silo_{i}"));
        try
        {
            await using var cluster = await RaftTestCluster.StartAsync(
                useGrpc: true,
                configureSilo: silo => silo.Services.AddOptions<RaftGrainStorageOptions>(RaftTestCluster.ProviderName).Configure<IOptions<SiloOptions>>((o, siloOptions) =>
                    o.Network = new GrpcRaftStorageNetwork
                    {
                        ConfigureTransport = t => t.Tls = new GrpcTlsOptions { Certificate = certificates[siloOptions.Value.SiloName], CaCertificate = ca },
                    }));
            var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ICounterGrain>($"tls-{i}")).ToArray();
            var rounds = new CounterRounds(grains);
            await rounds.RunAsync(2);
            Assert.True(rounds.Uncertain.Sum() == 0, $"every write must succeed, those of grains on followers' silos forwarded over TLS; last failure: {rounds.LastFailure}");

            var leader = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10)));
            var followers = cluster.Storages.Where(s => s.NodeId != leader.NodeId).ToArray();
            var removed = await followers[0].RemoveMemberAsync(followers[1].NodeId);
            Assert.Equal(new[] { leader.NodeId, followers[0].NodeId }.Order(StringComparer.Ordinal), removed.Voters);
            Assert.DoesNotContain(followers[1].NodeId, leader.Configuration!.Voters);
        }
        finally
        {
            foreach (var certificate in certificates.Values)
            {
                certificate.Dispose();
            }
        }
    }

    // The silo a change is forwarded to checks it as a local caller's would be checked: one that does not lead refuses
    // it (the caller retries with the leader), and the leader's refuses a node no silo has an address for. An answer
    // lost on the way back is reported as such.
    [Fact]
    public async Task AForwardedChange_IsCheckedByTheSiloThatReceivesIt()
    {
        await using var cluster = await RaftTestCluster.StartAsync();
        var leader = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10)));
        var follower = cluster.Storages.First(s => s != leader);
        await using var probe = await cluster.Network.ConnectAsync(
            new RaftStorageEndpoint("probe", "probe", new Dictionary<string, string>(), NullLoggerFactory.Instance));

        await Assert.ThrowsAsync<NotLeaderException>(
            () => probe.ForwardMembershipChangeAsync(follower.NodeId, new RaftMembershipRequest(RaftMembershipOperation.RemoveMember, leader.NodeId)));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(
            () => probe.ForwardMembershipChangeAsync(leader.NodeId, new RaftMembershipRequest(RaftMembershipOperation.AddVoter, "Silo_9")));
        Assert.Contains("is in neither Members nor AdditionalMembers", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2"], leader.Configuration!.Voters);

        // An answer that cannot travel back is reported as lost, not as done (the change itself went through).
        cluster.Network.Network.DisconnectOneWay(leader.NodeId, "probe");
        var lost = await Assert.ThrowsAsync<IOException>(
            () => probe.ForwardMembershipChangeAsync(leader.NodeId, new RaftMembershipRequest(RaftMembershipOperation.RemoveMember, "Silo_9")));
        Assert.Contains("was lost", lost.Message, StringComparison.Ordinal);
    }

    // The membership grain answers from any silo: the configuration, bad input as argument errors the client can read
    // (a node id no silo has an address for, a key that names no Raft grain storage), a cancelled wait as such, and a
    // change that cannot be made now (no leader) as one to retry.
    [Fact]
    public async Task TheMembershipGrain_ReportsTheConfiguration_AndBadInputAsArgumentErrors()
    {
        var joinsEnded = 0;
        await using var cluster = await RaftTestCluster.StartAsync(
            configure: o => o.AdditionalMembers["Silo_3"] = "in-memory",
            configureSilo: silo => silo.AddIncomingGrainCallFilter(async call =>
            {
                try
                {
                    await call.Invoke();
                }
                finally
                {
                    if (call.InterfaceMethod?.Name == nameof(IRaftMembershipGrain.AddVoterAsync))
                    {
                        Interlocked.Increment(ref joinsEnded);
                    }
                }
            }));
        var members = cluster.Client.GetGrain<IRaftMembershipGrain>(RaftTestCluster.ProviderName);
        var configuration = await members.GetConfigurationAsync();
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2"], configuration.Voters);
        Assert.Empty(configuration.Learners);

        var unknownNode = await Assert.ThrowsAsync<ArgumentException>(() => members.AddVoterAsync("Silo_9"));
        Assert.Contains("is in neither Members nor AdditionalMembers", unknownNode.Message, StringComparison.Ordinal);
        var unknownStorage = await Assert.ThrowsAsync<ArgumentException>(() => cluster.Client.GetGrain<IRaftMembershipGrain>("no-such-storage").GetConfigurationAsync());
        Assert.Contains("no Raft grain storage named 'no-such-storage'", unknownStorage.Message, StringComparison.Ordinal);
        Assert.Equal(configuration.Voters, (await RetryAsync(() => members.RemoveMemberAsync("Silo_9"))).Voters);

        // A spare that is not running never catches up: the caller's token ends the wait, in the silo too; the learner
        // it left is there to see, and removing it is not held up behind the abandoned call.
        var joinsBefore = Volatile.Read(ref joinsEnded);
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => members.AddVoterAsync("Silo_3", giveUp.Token));
        }

        await WaitUntilAsync(() => Volatile.Read(ref joinsEnded) > joinsBefore, "the abandoned join to end in the silo", TimeSpan.FromSeconds(3));

        Assert.Equal(["Silo_3"], (await members.GetConfigurationAsync()).Learners);
        Assert.Empty((await RetryAsync(() => members.RemoveMemberAsync("Silo_3"))).Learners);

        // With no leader anywhere, a change that cannot be made now reaches the client as one to retry.
        foreach (var storage in cluster.Storages)
        {
            cluster.Network.Network.Isolate(storage.NodeId);
        }

        await WaitUntilAsync(() => cluster.Storages.All(s => s.Node!.Status.LeaderId is null), "every node to lose its leader");
        var notNow = await Assert.ThrowsAsync<RaftMembershipChangeException>(() => members.RemoveMemberAsync("Silo_2"));
        Assert.Contains("could not remove 'Silo_2' now", notNow.Message, StringComparison.Ordinal);
        cluster.Network.Network.Heal();
        Assert.Contains("Silo_2", (await RetryAsync(() => members.GetConfigurationAsync())).Voters);
    }

    // A crash as Raft sees it (over the in-memory network, cut off first so it cannot hand leadership over).
    private static async Task KillAsync(RaftTestCluster cluster, string nodeId, bool useGrpc)
    {
        var silo = cluster.Cluster.Silos.Single(s => s.IsActive && RaftTestCluster.Storage(s).NodeId == nodeId);
        if (!useGrpc)
        {
            cluster.Network.Network.Isolate(nodeId);
        }

        await cluster.Cluster.KillSiloAsync(silo);
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

    // Through the membership grain: a change that is not done now (just after an election, say) is retried shortly.
    internal static async Task<RaftGroupConfiguration> RetryAsync(Func<Task<RaftGroupConfiguration>> change)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await change();
            }
            catch (RaftMembershipChangeException) when (stopwatch.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }
        }
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < (within ?? TimeSpan.FromSeconds(20)), $"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }
}
