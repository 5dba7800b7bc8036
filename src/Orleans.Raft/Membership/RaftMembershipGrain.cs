using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Raft.Storage;
using Orleans.Storage;
using Raft.Core.Membership;

namespace Orleans.Raft.Membership;

// Runs where it is called (a stateless worker), on that silo's Raft grain storage, which forwards to the leader's silo.
// Reentrant: a long wait for a joiner to catch up must not hold up a configuration query or the removal of that joiner.
// One activation per silo: Orleans 10 delivers a caller's cancellation to some activation of a stateless worker, not
// necessarily the one running the call (dotnet/orleans#9877), so with more the silo would wait on after the caller
// gave up.
// Raft.Core's and gRPC's exceptions have no Orleans codec, so the failures that call for a retry travel as
// RaftMembershipChangeException, and the .NET ones passed through are rebuilt without their causes.
[StatelessWorker(1)]
[Reentrant]
internal sealed class RaftMembershipGrain(IServiceProvider services) : Grain, IRaftMembershipGrain
{
    public Task<RaftGroupConfiguration> AddVoterAsync(string nodeId, CancellationToken cancellationToken = default) =>
        ChangeAsync(storage => storage.AddVoterAsync(nodeId, cancellationToken), $"add '{nodeId}' as a voter", cancellationToken);

    public Task<RaftGroupConfiguration> AddVoterAsync(string nodeId, string address, CancellationToken cancellationToken = default) =>
        ChangeAsync(storage => storage.AddVoterAsync(nodeId, address, cancellationToken), $"add '{nodeId}' at {address} as a voter", cancellationToken);

    public Task<RaftGroupConfiguration> RemoveMemberAsync(string nodeId, CancellationToken cancellationToken = default) =>
        ChangeAsync(storage => storage.RemoveMemberAsync(nodeId, cancellationToken), $"remove '{nodeId}'", cancellationToken);

    public Task<RaftGroupConfiguration> GetConfigurationAsync()
    {
        var storage = Storage();
        return storage.Configuration is { } configuration
            ? Task.FromResult(RaftGroupConfiguration.From(configuration))
            : throw new RaftMembershipChangeException($"Raft grain storage '{this.GetPrimaryKeyString()}' on silo '{storage.NodeId}' is not running.");
    }

    private async Task<RaftGroupConfiguration> ChangeAsync(Func<RaftGrainStorage, Task<ClusterConfiguration>> change, string what, CancellationToken cancellationToken)
    {
        var storage = Storage();
        try
        {
            return RaftGroupConfiguration.From(await change(storage));
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException(ex.Message);
        }
        catch (NotSupportedException ex)
        {
            throw new NotSupportedException(ex.Message);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(ex.Message);
        }
        catch (Exception ex) when (ex is not OrleansException)
        {
            throw new RaftMembershipChangeException(
                $"Raft grain storage '{this.GetPrimaryKeyString()}' could not {what} now (asked on silo '{storage.NodeId}'): {ex.Message}", ex);
        }
    }

    private RaftGrainStorage Storage()
    {
        var name = this.GetPrimaryKeyString();
        return services.GetKeyedService<IGrainStorage>(name) as RaftGrainStorage
            ?? throw new ArgumentException($"This silo has no Raft grain storage named '{name}': the key of IRaftMembershipGrain is the provider's name, as registered with AddRaftGrainStorage.");
    }
}
