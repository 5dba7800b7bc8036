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
    // silo refuses to add it (none could reach it), and an address the network cannot use is refused too; asked with
    // one, from the client through the membership grain, the leader's silo records the address in the group and adds
    // Silo_3, whose start then completes. Every running silo learns the address. Silo_3 then leads: the others
    // replicate from it and forward their grains' writes to it, with nothing lost. Silo_1, down all along, comes back
    // without the address: it refuses Silo_3's messages until its removal watch learns the address from the other
    // silos, then follows. Silo_2, restarted, knows the address at once from its record (it does not learn it anew from
    // the log). (One silo at a time, so that Silo_3 keeps a quorum of the four voters and goes on leading.) Silo_4, whose
    // options list only the initial members and itself, learns its leader's address from them while it waits to join.
    [Fact]
    public async Task ASiloAddedWithItsAddress_IsReachedByEverySilo_ThoughNoOtherSilosOptionsListIt()
    {
        var log = new TestLog();
        var joiningAddress = $"127.0.0.1:{FreePorts.Next()}";
        var laterAddress = $"127.0.0.1:{FreePorts.Next()}";
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
                    else if (siloOptions.Value.SiloName == "Silo_4")
                    {
                        o.AdditionalMembers["Silo_4"] = laterAddress;
                    }
                });
            });
        var grains = Enumerable.Range(0, 6).Select(i => cluster.Client.GetGrain<ICounterGrain>($"addressed-{i}")).ToArray();
        var rounds = new CounterRounds(grains);
        await rounds.RunAsync(2);
        var silo1 = cluster.Cluster.Silos.Single(s => RaftTestCluster.Storage(s).NodeId == "Silo_1");
        await cluster.Cluster.KillSiloAsync(silo1);
        await rounds.RunAsync(1);

        var joining = cluster.Cluster.StartAdditionalSiloAsync();
        await MembershipTests.WaitUntilAsync(() => log.Entries.Any(e => e.EventId.Id == 4012 && e.Message.Contains("Silo_3", StringComparison.Ordinal)), "Silo_3 to say it waits to be added");
        var follower = cluster.Storages.First(s => s.NodeId != "Silo_3" && s.Node is { IsLeader: false });
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => follower.AddVoterAsync("Silo_3"));
        Assert.Contains("Pass its address: AddVoterAsync(\"Silo_3\", \"host:port\")", unknown.Message, StringComparison.Ordinal);
        var members = cluster.Client.GetGrain<IRaftMembershipGrain>(RaftTestCluster.ProviderName);
        var notAnAddress = await Assert.ThrowsAsync<ArgumentException>(() => members.AddVoterAsync("Silo_3", "no-port-here"));
        Assert.Contains("'no-port-here' is not a gRPC address for 'Silo_3'", notAnAddress.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => follower.AddVoterAsync("Silo_3", $"{joiningAddress}/path"));
        await Assert.ThrowsAsync<ArgumentException>(() => follower.AddVoterAsync("Silo_3", $"ftp://{joiningAddress}"));
        await Assert.ThrowsAsync<ArgumentException>(() => follower.AddVoterAsync("Silo 3", joiningAddress));

        var added = await MembershipTests.RetryAsync(() => members.AddVoterAsync("Silo_3", joiningAddress));
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2", "Silo_3"], added.Voters);
        var newSilo = await joining.WaitAsync(TimeSpan.FromSeconds(30));
        var newStorage = RaftTestCluster.Storage(newSilo);
        await MembershipTests.WaitUntilAsync(
            () => cluster.Storages.All(s => s.MemberAddresses.TryGetValue("Silo_3", out var address) && address == joiningAddress),
            "every running silo to know Silo_3's address");
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

        // Silo_1 never applied the entry: it learns Silo_3's address from the others, then from the log.
        var back1 = RaftTestCluster.Storage((await cluster.Cluster.RestartSiloAsync(silo1))!);
        Assert.False(back1.MemberAddresses.ContainsKey("Silo_3"), "Silo_1 was down when the address was recorded.");
        await MembershipTests.WaitUntilAsync(() => back1.Node?.Status.LeaderId == "Silo_3", "the restarted Silo_1 to follow Silo_3");
        Assert.Contains(log.Entries, e => e.EventId.Id == 4021 && e.Message.Contains("node Silo_1 had no address for its group's leader Silo_3", StringComparison.Ordinal));
        await MembershipTests.WaitUntilAsync(() => back1.StateMachine.MemberAddresses.ContainsKey("Silo_3"), "Silo_1 to apply the entry");

        // Silo_2 learned the address once, when it applied the entry; restarted, it has it from its record.
        static bool LearnedBySilo2(TestLog.Entry e) => e.EventId.Id == 4017 && e.Message.Contains("node Silo_2 reaches node Silo_3", StringComparison.Ordinal);
        Assert.Single(log.Entries, LearnedBySilo2);
        var silo2 = cluster.Cluster.Silos.Single(s => s.IsActive && RaftTestCluster.Storage(s).NodeId == "Silo_2");
        var back2 = RaftTestCluster.Storage((await cluster.Cluster.RestartSiloAsync(silo2))!);
        Assert.Equal(joiningAddress, back2.MemberAddresses["Silo_3"]);
        await MembershipTests.WaitUntilAsync(() => back2.Node?.Status.LeaderId == "Silo_3", "the restarted Silo_2 to follow Silo_3");
        Assert.Single(log.Entries, LearnedBySilo2);
        Assert.Contains(joiningAddress, await File.ReadAllTextAsync(Path.Combine(cluster.DataDirectory, "Silo_2", MemberAddressesRecord.FileName)), StringComparison.Ordinal);

        // Silo_4 joins knowing only the initial members and itself: it learns where its leader is from them.
        var joining4 = cluster.Cluster.StartAdditionalSiloAsync();
        await MembershipTests.WaitUntilAsync(() => log.Entries.Any(e => e.EventId.Id == 4021 && e.Message.Contains("node Silo_4 had no address for its group's leader Silo_3", StringComparison.Ordinal)), "Silo_4 to learn its leader's address");
        Assert.Equal(["Silo_0", "Silo_1", "Silo_2", "Silo_3", "Silo_4"], (await MembershipTests.RetryAsync(() => members.AddVoterAsync("Silo_4", laterAddress))).Voters);
        var silo4 = RaftTestCluster.Storage(await joining4.WaitAsync(TimeSpan.FromSeconds(30)));

        await rounds.RunAsync(2);
        Assert.True(rounds.Uncertain.Sum() == uncertainBefore, $"every write must succeed after the restarts; last failure: {rounds.LastFailure}");
        for (var i = 0; i < grains.Length; i++)
        {
            var stored = await grains[i].Get();
            Assert.InRange(stored, rounds.Acknowledged[i], rounds.Acknowledged[i] + rounds.Uncertain[i]);
            foreach (var storage in new[] { back1, back2, newStorage, silo4 })
            {
                var read = new TestState();
                await storage.ReadStateAsync("s", grains[i].GetGrainId(), read);
                Assert.Equal(stored, read.State.Value);
            }
        }
    }
}
