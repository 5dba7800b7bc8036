using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Storage;

namespace Orleans.Raft.Tests;

// The journaling provider's options are refused at silo start with a message that names the setting and the fix.
public sealed class JournalingOptionsTests
{
    private static string Fail(RaftJournalStorageOptions options, IServiceProvider? services = null) =>
        Assert.Throws<OrleansConfigurationException>(() => new RaftJournalStorageOptionsValidator(
            options, services ?? new ServiceCollection().BuildServiceProvider()).ValidateConfiguration()).Message;

    [Fact]
    public void MissingGrainStorageName_SaysToSetIt() =>
        Assert.Contains("GrainStorageName is not set", Fail(new RaftJournalStorageOptions()), StringComparison.Ordinal);

    [Fact]
    public void UnknownGrainStorageName_SaysHowToRegisterIt() =>
        Assert.Contains("no grain storage named 'raft'", Fail(new RaftJournalStorageOptions { GrainStorageName = "raft" }), StringComparison.Ordinal);

    [Fact]
    public void GrainStorageThatIsNotRaft_IsRefused()
    {
        var services = new ServiceCollection().AddKeyedSingleton<IGrainStorage>("memory", new NotRaftStorage()).BuildServiceProvider();
        Assert.Contains("not a Raft grain storage", Fail(new RaftJournalStorageOptions { GrainStorageName = "memory" }, services), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1, "CompactionRecordThreshold is 0")]
    [InlineData(1, -1, "CompactionByteThreshold is -1")]
    public void NonPositiveThresholds_AreRefused(int records, int bytes, string expected) =>
        Assert.Contains(expected, Fail(new RaftJournalStorageOptions
        {
            GrainStorageName = "raft", CompactionRecordThreshold = records, CompactionByteThreshold = bytes,
        }), StringComparison.Ordinal);

    private sealed class NotRaftStorage : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;
    }
}
