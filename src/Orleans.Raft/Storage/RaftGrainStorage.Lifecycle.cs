using System.Diagnostics;
using Orleans.Raft.Networking;
using Orleans.Runtime;
using Raft.Core;
using Raft.Core.Runtime;
using Raft.Storage.Faster;

namespace Orleans.Raft.Storage;

// The Raft node's life inside the silo's: started before grains can activate, stopped after they deactivated.
public sealed partial class RaftGrainStorage
{
    /// <summary>
    /// Joins the silo lifecycle at <see cref="Configuration.RaftGrainStorageOptions.InitStage"/>: the Raft node starts
    /// there (before grains can activate) and stops there on the way down (after grains deactivated), handing
    /// leadership to another member first when it leads.
    /// </summary>
    /// <param name="lifecycle">The silo's lifecycle.</param>
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(OptionFormattingUtilities.Name<RaftGrainStorage>(_name), _options.InitStage, StartAsync, StopAsync);
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var nodeId = NodeId;
        var directory = Path.Combine(_options.DataDirectory!, nodeId);
        var members = _addresses = OpenAddressBook(directory);
        Log.NodeStarting(_logger, _name, nodeId, string.Join(", ", members.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={m.Value}")), directory);
        try
        {
            _storage = await FasterRaftStorage.OpenAsync(directory, loggerFactory: _loggerFactory, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            string[] voters = [.. _options.Members.Keys.Order(StringComparer.Ordinal)];
            InitialVotersRecord.Ensure(directory, voters, _name);
            var endpoint = new RaftStorageEndpoint(_options.RaftClusterId ?? $"{_serviceId}/{_name}", nodeId, members, _loggerFactory)
            {
                InitialConfigurationId = InitialVotersRecord.Fingerprint(voters),
                MembershipChanges = ChangeForwardedAsync,
            };
            _connection = await (_options.Network ?? new GrpcRaftStorageNetwork()).ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            var nodeOptions = new RaftNodeOptions
            {
                Raft = new RaftOptions
                {
                    Id = nodeId,
                    Voters = voters,
                    ElectionTick = _options.ElectionTick,
                    HeartbeatTick = _options.HeartbeatTick,
                },
                TickInterval = _options.TickInterval,
                SnapshotEntryThreshold = _options.SnapshotEntryThreshold,
                ReadTimeout = _options.OperationTimeout,
                LogWriteThreadSlice = _options.LogWriteThreadSlice,
            };
            var node = new RaftNode(
                nodeOptions, _storage.Log, _storage.HardState, _storage.Snapshots, _connection.Transport, StateMachine, null, _loggerFactory);
            await _connection.StartAsync(node, cancellationToken).ConfigureAwait(false);
            // Term 0: this node never took part in an election or a replication round (either makes its term durable
            // first). A new cluster's first start, or a silo whose data was lost, which Raft cannot take back safely
            // under the same name (README, "A silo that lost its data"): said at every such start.
            var empty = (await _storage.HardState.LoadAsync(cancellationToken).ConfigureAwait(false)).Term == 0;
            await node.StartAsync(cancellationToken).ConfigureAwait(false);
            _node = node;
            if (empty)
            {
                Log.NodeStartedEmpty(_logger, _name, nodeId, directory);
            }

            await WaitUntilMemberAsync(node, _connection, cancellationToken).ConfigureAwait(false);
            StartRemovalWatch(node, _connection);
        }
        catch (Exception ex)
        {
            Log.NodeStartFailed(_logger, ex, _name, nodeId);
            await ReleaseAsync().ConfigureAwait(false);
            throw;
        }

        Log.NodeStarted(_logger, _name, nodeId);
    }

    // A silo that joins after the group was created (in AdditionalMembers) holds its start here, before grains can
    // activate, until the leader adds it: until then its node hears from no leader, so every storage call of a grain
    // placed on it would wait out OperationTimeout. A removed node that knows it (a leader that removed itself) waits
    // here for good, which is what it should do; the log line says so. A joiner accepts Raft messages only from nodes
    // it has an address for, so while it hears from no leader it asks the others where theirs is (a silo added at run
    // time, say, that its options do not list).
    private async Task WaitUntilMemberAsync(RaftNode node, IRaftStorageConnection connection, CancellationToken cancellationToken)
    {
        if (IsMember(node))
        {
            return;
        }

        Log.NodeWaitingToJoin(_logger, _name, node.Id, $"{node.Status.Configuration}");

        // Asked after a check interval, then less and less often (a joiner may wait long for its AddVoterAsync), each
        // round bounded by the interval; a failed round is logged once and does not fail the start.
        var interval = CheckInterval();
        var wait = interval;
        var lastAsk = Stopwatch.GetTimestamp();
        var failureLogged = false;
        while (!IsMember(node))
        {
            await Task.Delay(_options.TickInterval, cancellationToken).ConfigureAwait(false);
            if (node.Status.LeaderId is not null || Stopwatch.GetElapsedTime(lastAsk) < wait)
            {
                continue;
            }

            using (var round = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                round.CancelAfter(interval);
                try
                {
                    await AskPeersAsync(node.Id, connection, round.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    if (!failureLogged)
                    {
                        failureLogged = true;
                        Log.JoinQuestionFailed(_logger, ex, _name, node.Id);
                    }
                }
            }

            wait = wait * 2 < TimeSpan.FromSeconds(30) ? wait * 2 : TimeSpan.FromSeconds(30);
            lastAsk = Stopwatch.GetTimestamp();
        }

        Log.NodeJoined(_logger, _name, node.Id, $"{node.Status.Configuration}");
    }

    private static bool IsMember(RaftNode node) => node.Status.Configuration?.Contains(node.Id) == true;

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_node is { } node)
        {
            Log.NodeStopping(_logger, _name, node.Id, node.IsLeader);
        }

        await ReleaseAsync().ConfigureAwait(false);
        Log.NodeStopped(_logger, _name, NodeId);
    }

    // Stops the node (a leader transfers leadership first), then closes the network and the stores.
    private async Task ReleaseAsync()
    {
        StopRemovalWatch();
        var node = Interlocked.Exchange(ref _node, null);
        try
        {
            if (node is not null)
            {
                await node.StopAsync().ConfigureAwait(false);
            }

            if (Interlocked.Exchange(ref _connection, null) is { } connection)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Log.NodeStopFailed(_logger, ex, _name, NodeId);
        }
        finally
        {
            if (Interlocked.Exchange(ref _storage, null) is { } storage)
            {
                await storage.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
