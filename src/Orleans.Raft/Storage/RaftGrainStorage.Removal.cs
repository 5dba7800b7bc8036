using Orleans.Raft.Networking;
using Raft.Core.Engine;
using Raft.Core.Runtime;

namespace Orleans.Raft.Storage;

// A follower removed while it was down never hears of its removal: the leader stops replicating to it at once, so,
// restarted from its data, it counts itself a member that no leader answers, and every storage call of a grain placed
// on its silo waits out OperationTimeout. This watch notices the silence, asks the other silos how they see the group,
// and says so when a leader they know of has this node out of its configuration (event 4014); the storage's errors
// then say it too. Diagnosis only: Raft itself does not act on it (the node is not stopped, and a node added back later
// simply hears from the leader again). The same answers give a silo that missed the entry recording its leader's
// address that address (RaftGrainStorage.Addresses.cs).
public sealed partial class RaftGrainStorage
{
    // What event 4014 said, while it holds; read by the storage's quorum errors.
    private volatile string? _removalNotice;
    private CancellationTokenSource? _removalWatchStop;

    private void StartRemovalWatch(RaftNode node, IRaftStorageConnection connection)
    {
        var stop = new CancellationTokenSource();
        _removalNotice = null;
        _removalWatchStop = stop;
        _ = WatchForRemovalAsync(node, connection, stop.Token);
    }

    private void StopRemovalWatch()
    {
        if (Interlocked.Exchange(ref _removalWatchStop, null) is { } stop)
        {
            stop.Cancel();
            stop.Dispose();
        }
    }

    private async Task WatchForRemovalAsync(RaftNode node, IRaftStorageConnection connection, CancellationToken cancellationToken)
    {
        // Two checks in a row without a leader, each at least two election timeouts apart: longer than any election.
        var interval = CheckInterval();
        var silentChecks = 0;
        var failureLogged = false;
        while (!cancellationToken.IsCancellationRequested && !node.Completion.IsCompleted)
        {
            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                if (HearsFromALeaderOrWaitsToJoin(node))
                {
                    silentChecks = 0;
                    Clear(node, "it hears from a leader");
                    continue;
                }

                if (++silentChecks < 2)
                {
                    continue;
                }

                // Asked again at every check while no leader answers: a leader that holds the node withdraws the notice;
                // no leader's answer leaves it as it is.
                var (outcome, leader) = await AskWhetherRemovedAsync(node.Id, node.Status, connection, cancellationToken).ConfigureAwait(false);
                if (outcome == RemovalVerdict.Outcome.Member || HearsFromALeaderOrWaitsToJoin(node))
                {
                    Clear(node, leader is null ? "it hears from a leader" : $"the leader {leader.NodeId} of term {leader.Term} holds it ({leader.Configuration})");
                }
                else if (outcome == RemovalVerdict.Outcome.Removed && _removalNotice is null)
                {
                    _removalNotice = Notice(node.Id, leader!);
                    Log.NodeRemoved(_logger, _name, _removalNotice);
                }
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                // The silo stops (a question to a peer in flight fails with whatever its network throws then).
                return;
            }
            catch (Exception ex)
            {
                // Diagnosis only: one failed check is logged (once) and the next one goes on.
                if (!failureLogged)
                {
                    failureLogged = true;
                    Log.RemovalWatchFailed(_logger, ex, _name, node.Id);
                }
            }
        }
    }

    // A joiner that is not a member yet waits at start instead (event 4012).
    private static bool HearsFromALeaderOrWaitsToJoin(RaftNode node) =>
        node.Status is var status && (status.LeaderId is not null || status.Configuration?.Contains(node.Id) != true);

    private void Clear(RaftNode node, string why)
    {
        if (_removalNotice is not null)
        {
            _removalNotice = null;
            Log.NodeNotRemoved(_logger, _name, node.Id, why);
        }
    }

    // Every other silo of the address book is asked (RemovalVerdict weighs the answers).
    private async Task<(RemovalVerdict.Outcome Outcome, RaftPeerView? Leader)> AskWhetherRemovedAsync(
        string nodeId, RaftStatus status, IRaftStorageConnection connection, CancellationToken cancellationToken)
    {
        var views = await AskPeersAsync(nodeId, connection, cancellationToken).ConfigureAwait(false);
        return RemovalVerdict.Decide(nodeId, status.Term, views);
    }

    // The answers of every other silo this one has an address for; a leader's address among them is taken when this
    // silo has none (LearnLeaderAddresses).
    private async Task<RaftPeerView[]> AskPeersAsync(string nodeId, IRaftStorageConnection connection, CancellationToken cancellationToken)
    {
        var peers = MemberAddresses.Keys.Where(id => id != nodeId).ToArray();
        var views = (await Task.WhenAll(peers.Select(id => connection.AskPeerAsync(id, cancellationToken))).ConfigureAwait(false)).OfType<RaftPeerView>().ToArray();
        LearnLeaderAddresses(nodeId, connection, views);
        return views;
    }

    // How long the removal watch (and a joiner's wait) lets pass between checks: two election timeouts, at least a
    // second, longer than any election.
    private TimeSpan CheckInterval()
    {
        var electionTimeout = _options.TickInterval * _options.ElectionTick;
        return electionTimeout * 2 > TimeSpan.FromSeconds(1) ? electionTimeout * 2 : TimeSpan.FromSeconds(1);
    }

    private static string Notice(string nodeId, RaftPeerView leader) =>
        $"node {nodeId} is not a member of the Raft group as its leader {leader.NodeId} sees it in term {leader.Term} ({leader.Configuration}): it was removed, most likely while it was down, and no leader will answer it, so the storage calls of grains on this silo fail. Stop this silo for good, or, if its data is intact, add it back (IRaftMembershipGrain.AddVoterAsync(\"{nodeId}\")).";

    // The advice of the storage's quorum errors: the removal when it is known, else the usual suspects.
    private string WhatToCheck() =>
        _removalNotice is { } notice
            ? $"This silo's Raft {notice}"
            : $"Check that a majority of Members [{string.Join(", ", _options.Members.Keys)}] is running and reachable.";
}
