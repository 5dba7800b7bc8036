using Raft.Core.Engine;

namespace Raft.Core.Runtime;

// Leadership transfer (thesis §3.10), on request and before a leader stops.
public sealed partial class RaftNode
{
    // Loop only: accepted transfers waiting for another node to lead.
    private readonly List<TransferRequest> _transfers = [];

    // ElectionTick × TickInterval: the engine abandons a transfer after this many ticks.
    private readonly TimeSpan _electionTimeout;

    // The wall-clock bound on a transfer for when the engine cannot abandon it (this node stepped down and no leader
    // emerged): generous, since a loaded node's ticks run late and the engine's own bound is counted in ticks.
    private TimeSpan TransferBackstop => TimeSpan.FromTicks(Math.Max(_electionTimeout.Ticks * 4, TimeSpan.FromSeconds(2).Ticks));

    /// <summary>
    /// Hands leadership to <paramref name="target"/>, or to the most up-to-date voter when null. Call on the leader.
    /// While the transfer runs, this leader refuses proposals and membership changes with
    /// <see cref="ProposalDroppedException"/> (retryable); it brings the target's log up to date and tells it to
    /// campaign at once (TimeoutNow).
    /// </summary>
    /// <param name="target">The voter that should lead, or null to let the leader choose.</param>
    /// <param name="cancellationToken">Abandons the wait only: the transfer goes on.</param>
    /// <returns>The id of the new leader, once this node knows another node leads (normally the target; another node
    /// only if an election raced the transfer).</returns>
    /// <remarks>
    /// Fails with <see cref="NotLeaderException"/> on a follower; with <see cref="RequestRejectedException"/>, whose
    /// message is the engine's reason, when the target is this node, not a voter, or there is no other voter; with
    /// <see cref="RaftTimeoutException"/> when no other node took over within an election timeout (the leader then
    /// abandons the transfer and accepts proposals again); with <see cref="RaftNodeStoppedException"/> when the node
    /// stops first.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The node was not started.</exception>
    public Task<string> TransferLeadershipAsync(string? target = null, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<string>(cancellationToken);
        }

        if (Volatile.Read(ref _state) == NotStarted)
        {
            throw new InvalidOperationException($"Raft node '{Id}' is not started; call StartAsync first.");
        }

        var request = new TransferRequest(target, chooseReachable: false);
        if (!_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Transfer, request)))
        {
            return Task.FromException<string>(RaftNodeStoppedException.For(Id, _failure));
        }

        return cancellationToken.CanBeCanceled ? request.Task.WaitAsync(cancellationToken) : request.Task;
    }

    // StopAsync on a leader: hand over to a voter that answered recently, bounded by about an election timeout (the
    // engine's own bound), and stop anyway if that fails.
    private async Task TransferBeforeStopAsync()
    {
        var request = new TransferRequest(target: null, chooseReachable: true);
        if (!_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Transfer, request)))
        {
            return;
        }

        try
        {
            // The engine gives up after an election timeout (in ticks); this bounds a loop that is itself slow.
            var leader = await request.Task.WaitAsync(TransferBackstop, _timeProvider).ConfigureAwait(false);
            Log.LeadershipHandedOverBeforeStop(_logger, Id, leader);
        }
        catch (Exception ex)
        {
            Log.TransferBeforeStopFailed(_logger, Id, ex.Message);
        }
    }

    private void StartTransfer(RawNode rawNode, TransferRequest request)
    {
        var target = request.Target;
        if (request.ChooseReachable)
        {
            target = ChooseReachableVoter(rawNode.Status);
            if (target is null)
            {
                request.TrySetException(new RequestRejectedException(
                    $"Raft node '{Id}' has no other voter that answered within an election timeout to hand leadership to."));
                return;
            }
        }

        var outcome = rawNode.TransferLeadership(target);
        switch (outcome.Status)
        {
            case ProposeStatus.Accepted:
                request.Target = outcome.LeaderHint;
                request.Deadline = _timeProvider.GetTimestamp() + (long)(TransferBackstop.TotalSeconds * _timeProvider.TimestampFrequency);
                _transfers.Add(request);
                Log.LeadershipTransferStarted(_logger, Id, outcome.LeaderHint);
                break;
            case ProposeStatus.NotLeader:
                request.TrySetException(new NotLeaderException(Id, outcome.LeaderHint));
                break;
            default:
                request.TrySetException(new RequestRejectedException(
                    $"Raft node '{Id}' rejected the leadership transfer: {outcome.Reason ?? outcome.Status.ToString()}"));
                break;
        }
    }

    // Loop only, at the end of each iteration while transfers wait.
    private void CheckTransfers(RaftStatus status)
    {
        if (_transfers.Count == 0)
        {
            return;
        }

        if (status.LeaderId is { } leader && leader != Id)
        {
            foreach (var request in _transfers)
            {
                request.TrySetResult(leader);
            }

            _transfers.Clear();
            return;
        }

        var abandoned = status.Role == StateRole.Leader && status.LeadTransferee is null;
        var now = _timeProvider.GetTimestamp();
        for (var i = _transfers.Count - 1; i >= 0; i--)
        {
            var request = _transfers[i];
            if (abandoned || now >= request.Deadline)
            {
                request.TrySetException(new RaftTimeoutException(abandoned
                    ? $"Raft node '{Id}' abandoned the leadership transfer to '{request.Target}': it did not take over within an election timeout ({_electionTimeout}). This node still leads and accepts proposals again."
                    : $"Raft node '{Id}': no other node took over leadership within {TransferBackstop} of the transfer to '{request.Target}', and this node does not lead any more; an election will pick the next leader."));
                _transfers.RemoveAt(i);
            }
        }
    }

    private sealed class TransferRequest(string? target, bool chooseReachable)
        : TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public string? Target { get; set; } = target;

        // Graceful stop: the loop picks a voter that answered recently instead of the engine's choice.
        public bool ChooseReachable { get; } = chooseReachable;

        // In TimeProvider timestamps; set when the engine accepted the transfer.
        public long Deadline { get; set; }
    }
}
