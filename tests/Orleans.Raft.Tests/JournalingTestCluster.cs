using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Journaling;
using Orleans.Journaling.Json;
using Orleans.Raft.Journaling;
using Orleans.Raft.Networking;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;
using Orleans.TestingHost;

namespace Orleans.Raft.Tests;

// A 3-silo in-process cluster with Raft grain storage and Orleans journaling on it (JSON format), over an in-memory
// network the tests can partition. Journals compact after CompactionRecords records, so tests see compactions.
public sealed class JournalingTestCluster : IAsyncDisposable
{
    public const int CompactionRecords = 4;

    private readonly RaftTestCluster _raft;

    private JournalingTestCluster(RaftTestCluster raft) => _raft = raft;

    public InProcessTestCluster Cluster => _raft.Cluster;

    public InMemoryRaftStorageNetwork Network => _raft.Network;

    public string DataDirectory => _raft.DataDirectory;

    public IClusterClient Client => _raft.Client;

    // dataDirectory: reuse the stores of an earlier cluster (a full restart); the caller then deletes it.
    public static async Task<JournalingTestCluster> StartAsync(string? dataDirectory = null, long snapshotEntryThreshold = 10_000) =>
        new(await RaftTestCluster.StartAsync(
            configure: o => o.SnapshotEntryThreshold = snapshotEntryThreshold,
            dataDirectory: dataDirectory,
            configureSilo: silo =>
            {
                silo.AddRaftJournalStorage((RaftJournalStorageOptions o) =>
                {
                    o.GrainStorageName = RaftTestCluster.ProviderName;
                    o.CompactionRecordThreshold = CompactionRecords;
                });
                silo.UseJsonJournalFormat(JournalingTestJsonContext.Default);
            }));

    // The journal of a grain as silo i's replica holds it (as of what that replica applied).
    internal StoredJournal? StoredJournal(int silo, GrainId grain) =>
        RaftTestCluster.Storage(Cluster.Silos[silo]).StateMachine.TryGetJournal(RaftJournalStorageProvider.KeyOf(JournalId.FromGrainId(grain)), out var journal)
            ? journal
            : null;

    public Task<InProcessSiloHandle> WaitForLeaderSiloAsync(TimeSpan timeout, string? notNodeId = null) =>
        _raft.WaitForLeaderSiloAsync(timeout, notNodeId);

    public ValueTask DisposeAsync() => _raft.DisposeAsync();
}

public sealed class JournalingClusterFixture : IAsyncLifetime
{
    public JournalingTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await JournalingTestCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class JournalingClusterCollection : ICollectionFixture<JournalingClusterFixture>
{
    public const string Name = "journaling 3-silo cluster";
}
