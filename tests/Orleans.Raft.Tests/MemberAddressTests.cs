using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Raft.Membership;
using Orleans.Raft.Storage;
using Raft.Testing.Logging;
using Raft.Testing.Processes;

namespace Orleans.Raft.Tests;

// A silo added with its address: no other silo's options list it, yet every silo reaches it, as a peer, as the leader
// they forward writes to, and after a restart.
[Trait("Category", "Slow")]
public sealed class MemberAddressTests
{
    // Silo_3's options list itself; the others' list only the three initial members. Asked without an address, any
    // silo refuses to add it (none could reach it); asked with one, from the client through the membership grain, the
    // leader's silo records the address in the group and adds Silo_3, whose start then completes. Every silo learns the
    // address. Silo_3 then leads: the others replicate from it and forward their grains' writes to it, with nothing
    // lost. An original silo restarted knows the address at once from its record (it does not learn it anew from the
    // log) and follows Silo_3.
    [Fact]
    public async Task ASiloAddedWithItsAddress_IsReachedByEverySilo_ThoughNoOtherSilosOptionsListIt()
    {
        var log = new TestLog();
        var joiningAddress = $"127.0.0.1:{FreePorts.Next()}";
        await using var cluster = await RaftTestCluster.StartAsync(
            useGrpc: true,
            configureSilo: silo =>
            {
                silo.Services.AddLogging(b => b.AddProvider(log.AsProvider()));
                silo.Services.AddOptions<RaftGrainStorageOptions>(RaftTestCluster.ProviderName).Configure<IOptions<SiloOptions>>((o, siloOptions) =>
                {
                    if (siloOptions.Value.SiloName == "Silo_3")
                    {
                        o.AdditionalMembers["Silo_3"] = joiningAddress;
                    }
                });
            });
        var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ICounterGrain>($"addressed-{i}")).ToArray();
        var rounds = new CounterRounds(grains);
        await rounds.RunAsync(2);

        var joining = cluster.Cluster.StartAdditionalSiloAsync();
        await MembershipTests.WaitUntilAsync(() => log.Entries.Any(e => e.EventId.Id == 4012 && e.Message.Contains("Silo_3", StringComparison.Ordinal)), "Silo_3 to say it waits to be added");
        var follower = cluster.Storages.First(s => s.NodeId != "Silo_3" && s.Node is { IsLeader: false });
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => follower.AddVoterAsync("Silo_3"));
        Assert.Contains("Pass its address: AddVoterAsync(\"Silo_3\", \"host:port\")", unknown.Message, StringComparison.Ordinal);
        var members = cluster.Client.GetGrain<IRaftMembershipGrain>(RaftTestCluster.ProviderName);
        var notAnAddress = await Assert.ThrowsAsync<ArgumentException>(() => members.AddVoterAsync("Silo_3", "no-port-here"));
        Assert.Contains("'no-port-here' is not a gRPC address for 'Silo_3'", notAnAddress.Message, StringComparison.Ordinal);

        var added = await MembershipTests.RetryAsync(() => members.AddVoterAsync("Silo_3", joiningAddress));
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2", "Silo_3"], added.Voters);
        var newSilo = await joining.WaitAsync(TimeSpan.FromSeconds(30));
        var newStorage = RaftTestCluster.Storage(newSilo);
        await MembershipTests.WaitUntilAsync(
            () => cluster.Storages.All(s => s.MemberAddresses.TryGetValue("Silo_3", out var address) && address == joiningAddress),
            "every silo to know Silo_3's address");
        Assert.All(cluster.Storages, s => Assert.Equal(joiningAddress, s.StateMachine.MemberAddresses["Silo_3"]));

        var leader = RaftTestCluster.Storage(await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10)));
        if (leader.NodeId != "Silo_3")
        {
            await leader.Node!.TransferLeadershipAsync("Silo_3");
        }

        await MembershipTests.WaitUntilAsync(() => newStorage.Node!.IsLeader && cluster.Storages.All(s => s.Node!.Status.LeaderId == "Silo_3"), "Silo_3 to lead, known by all");
        var uncertainBefore = rounds.Uncertain.Sum();
        await rounds.RunAsync(3);
        Assert.True(rounds.Uncertain.Sum() == uncertainBefore, $"every write must succeed with Silo_3 leading; last failure: {rounds.LastFailure}");

        // Silo_1 learned the address once, when it applied the entry; restarted, it has it from its record.
        static bool LearnedBySilo1(TestLog.Entry e) => e.EventId.Id == 4017 && e.Message.Contains("node Silo_1 reaches node Silo_3", StringComparison.Ordinal);
        Assert.Single(log.Entries, LearnedBySilo1);
        var silo1 = cluster.Cluster.Silos.Single(s => s.IsActive && RaftTestCluster.Storage(s).NodeId == "Silo_1");
        var back = RaftTestCluster.Storage((await cluster.Cluster.RestartSiloAsync(silo1))!);
        Assert.Equal(joiningAddress, back.MemberAddresses["Silo_3"]);
        await MembershipTests.WaitUntilAsync(() => back.Node?.Status.LeaderId == "Silo_3", "the restarted Silo_1 to follow Silo_3");
        Assert.Single(log.Entries, LearnedBySilo1);
        Assert.Contains(joiningAddress, await File.ReadAllTextAsync(Path.Combine(cluster.DataDirectory, "Silo_1", MemberAddressesRecord.FileName)), StringComparison.Ordinal);

        await rounds.RunAsync(2);
        Assert.True(rounds.Uncertain.Sum() == uncertainBefore, $"every write must succeed after Silo_1's restart; last failure: {rounds.LastFailure}");
        for (var i = 0; i < grains.Length; i++)
        {
            var read = new TestState();
            await back.ReadStateAsync("s", grains[i].GetGrainId(), read);
            Assert.Equal(rounds.Acknowledged[i], read.State.Value);
        }
    }
}
