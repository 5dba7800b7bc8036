using Orleans.Configuration;
using Orleans.Raft.EventSourcing;
using Orleans.Runtime;
using Orleans.Storage;

namespace Orleans.Raft.Tests.EventSourcing;

public sealed class RaftLogConsistencyOptionsTests
{
    [Fact]
    public void TrimHistoryWithoutSnapshots_IsRefused_SayingWhatToSet()
    {
        var error = Assert.Throws<OrleansConfigurationException>(() => Validate(new RaftLogConsistencyOptions { SnapshotInterval = 0, TrimHistory = true }, _ => null));
        Assert.Contains("TrimHistory needs snapshots", error.Message);
        Assert.Contains("SnapshotInterval", error.Message);
    }

    [Theory]
    [InlineData(-1, "SnapshotInterval is -1")]
    public void NegativeSnapshotInterval_IsRefused(int interval, string expected)
    {
        var error = Assert.Throws<OrleansConfigurationException>(() => Validate(new RaftLogConsistencyOptions { SnapshotInterval = interval }, _ => null));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void AMissingGrainStorage_IsRefused_NamingTheRegistrationToAdd()
    {
        var error = Assert.Throws<OrleansConfigurationException>(() => Validate(new RaftLogConsistencyOptions { GrainStorageName = "nope" }, _ => null));
        Assert.Contains("no grain storage provider named 'nope'", error.Message);
        Assert.Contains("AddRaftGrainStorage(\"nope\"", error.Message);
    }

    [Fact]
    public void AGrainStorageThatIsNotRaft_IsRefused()
    {
        var error = Assert.Throws<OrleansConfigurationException>(() => Validate(new RaftLogConsistencyOptions { GrainStorageName = "other" }, _ => new OtherStorage()));
        Assert.Contains("not a Raft grain storage", error.Message);
    }

    private static void Validate(RaftLogConsistencyOptions options, Func<string, IGrainStorage?> storages) =>
        new RaftLogConsistencyOptionsValidator(options, "es", storages).ValidateConfiguration();

    private sealed class OtherStorage : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;
    }
}
