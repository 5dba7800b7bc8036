using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Raft.Storage;
using Orleans.Storage;
using Raft.Core.Membership;

namespace Orleans.Raft.Membership;

// Runs where it is called (a stateless worker), on that silo's Raft grain storage, which forwards to the leader's silo.
// Raft.Core's exceptions have no Orleans codec, so the ones that call for a retry travel as RaftMembershipChangeException.
[StatelessWorker]
internal sealed class RaftMembershipGrain(IServiceProvider services) : Grain, IRaftMembershipGrain
{
    public Task<RaftGroupConfiguration> AddVoterAsync(string nodeId) => ChangeAsync(storage => storage.AddVoterAsync(nodeId), $"add '{nodeId}' as a voter");

    public Task<RaftGroupConfiguration> RemoveMemberAsync(string nodeId) => ChangeAsync(storage => storage.RemoveMemberAsync(nodeId), $"remove '{nodeId}'");

    public Task<RaftGroupConfiguration> GetConfigurationAsync()
    {
        var storage = Storage();
        return storage.Configuration is { } configuration
            ? Task.FromResult(RaftGroupConfiguration.From(configuration))
            : throw new RaftMembershipChangeException($"Raft grain storage '{this.GetPrimaryKeyString()}' on silo '{storage.NodeId}' is not running.");
    }

    private async Task<RaftGroupConfiguration> ChangeAsync(Func<RaftGrainStorage, Task<ClusterConfiguration>> change, string what)
    {
        var storage = Storage();
        try
        {
            return RaftGroupConfiguration.From(await change(storage));
        }
        catch (Exception ex) when (ex is not (ArgumentException or NotSupportedException or OrleansException))
        {
            throw new RaftMembershipChangeException(
                $"Raft grain storage '{this.GetPrimaryKeyString()}' could not {what} now (asked on silo '{storage.NodeId}'): {ex.Message} Retrying is safe.", ex);
        }
    }

    private RaftGrainStorage Storage()
    {
        var name = this.GetPrimaryKeyString();
        return services.GetKeyedService<IGrainStorage>(name) as RaftGrainStorage
            ?? throw new ArgumentException($"This silo has no Raft grain storage named '{name}': the key of IRaftMembershipGrain is the provider's name, as registered with AddRaftGrainStorage.");
    }
}
