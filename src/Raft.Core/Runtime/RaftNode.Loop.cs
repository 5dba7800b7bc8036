using System.Threading.Channels;
using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

// The consensus loop: the only code that touches the engine.
public sealed partial class RaftNode
{
    // Proposals the engine accepted in the current iteration, registered with the tracker in one lock before the
    // iteration's ready is taken (so before any of them can be committed and applied).
    private readonly List<(long Index, long Term, PendingProposal Proposal)> _accepted = [];
    private RawNode? _rawNode;

    // 1 while a tick event is queued: a loop that falls behind loses ticks instead of bursting them, which errs
    // towards fewer elections, never more.
    private int _tickQueued;

    private enum LoopEventKind : byte
    {
        Propose,
        Message,
        Tick,
        Unreachable,
    }

    private void OnTimer()
    {
        if (Interlocked.Exchange(ref _tickQueued, 1) == 0 && !_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Tick, null)))
        {
            Volatile.Write(ref _tickQueued, 0);
        }
    }

    private async Task RunLoopAsync()
    {
        var rawNode = _rawNode!;
        var reader = _events.Reader;
        var token = _stopping.Token;
        var stage = "engine";
        try
        {
            // No token on the wait: a cancellable wait allocates on every call, and stopping completes the channel,
            // which wakes the wait anyway.
            while (!token.IsCancellationRequested && await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                stage = "engine";
                var taken = 0;
                while (taken < _options.MaxEventsPerIteration && !token.IsCancellationRequested && reader.TryRead(out var loopEvent))
                {
                    Handle(rawNode, loopEvent);
                    taken++;
                }

                RegisterAccepted();

                while (!token.IsCancellationRequested && rawNode.HasReady())
                {
                    stage = "engine";
                    var ready = rawNode.GetReady();
                    if (ready.SoftState is { } softState)
                    {
                        Log.RoleChanged(_logger, Id, softState.Role, softState.Term, softState.LeaderId);
                    }

                    if (ready.Entries.Count > 0)
                    {
                        RaftMetrics.ReadyEntries.Record(ready.Entries.Count, _nodeTag);
                    }

                    stage = "log store, hard-state store or transport";
                    await _readyProcessor.PersistAndSendAsync(ready, token).ConfigureAwait(false);

                    if (ready.CommittedEntries.Count > 0 && !_applyQueue.Writer.TryWrite(ready.CommittedEntries))
                    {
                        // Full (the state machine is behind): wait for room, which is the loop's backpressure.
                        // Stopping completes the queue, which ends this wait with ChannelClosedException.
                        await _applyQueue.Writer.WriteAsync(ready.CommittedEntries, token).ConfigureAwait(false);
                    }

                    stage = "engine";
                    rawNode.Advance(ready);
                }

                PublishStatus(rawNode.Status);
            }
        }
        catch (Exception ex) when (token.IsCancellationRequested && ex is OperationCanceledException or ChannelClosedException)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            Fail(ex, stage);
        }
    }

    private void Handle(RawNode rawNode, LoopEvent loopEvent)
    {
        switch (loopEvent.Kind)
        {
            case LoopEventKind.Propose:
                Propose(rawNode, (PendingProposal)loopEvent.Payload!);
                break;
            case LoopEventKind.Message:
                rawNode.Step((Message)loopEvent.Payload!);
                break;
            case LoopEventKind.Tick:
                Volatile.Write(ref _tickQueued, 0);
                rawNode.Tick();
                break;
            case LoopEventKind.Unreachable:
                rawNode.ReportUnreachable((string)loopEvent.Payload!);
                break;
        }
    }

    private void Propose(RawNode rawNode, PendingProposal proposal)
    {
        ProposeOutcome outcome;
        try
        {
            outcome = rawNode.Propose(proposal.Command);
        }
        catch (ArgumentException ex)
        {
            // The engine refused this command alone (e.g. too large); the node is fine.
            proposal.TrySetException(ex);
            return;
        }
        catch (Exception ex)
        {
            proposal.TrySetException(RaftNodeStoppedException.For(Id, ex));
            throw;
        }

        switch (outcome.Status)
        {
            case ProposeStatus.Accepted:
                _accepted.Add((outcome.Index, outcome.Term, proposal));
                break;
            case ProposeStatus.NotLeader:
                RaftMetrics.ProposalsRejected.Add(1, _nodeTag);
                proposal.TrySetException(new NotLeaderException(Id, outcome.LeaderHint));
                break;
            case ProposeStatus.Dropped:
                RaftMetrics.ProposalsRejected.Add(1, _nodeTag);
                proposal.TrySetException(new ProposalDroppedException());
                break;
            default:
                RaftMetrics.ProposalsRejected.Add(1, _nodeTag);
                proposal.TrySetException(new RaftException($"Raft node '{Id}' rejected the proposal: {outcome.Reason ?? outcome.Status.ToString()}."));
                break;
        }
    }

    private void RegisterAccepted()
    {
        if (_accepted.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var (index, term, proposal) in _accepted)
            {
                _proposals.Register(index, term, proposal);
            }
        }

        RaftMetrics.Proposals.Add(_accepted.Count, _nodeTag);
        _accepted.Clear();
    }

    // Called once the loop has ended: fails proposals it took but never registered, and those still queued.
    private int FailUnregistered(Exception stopped)
    {
        var failed = 0;
        foreach (var (_, _, proposal) in _accepted)
        {
            failed += proposal.TrySetException(stopped) ? 1 : 0;
        }

        _accepted.Clear();
        while (_events.Reader.TryRead(out var loopEvent))
        {
            if (loopEvent.Kind == LoopEventKind.Propose)
            {
                failed += ((PendingProposal)loopEvent.Payload!).TrySetException(stopped) ? 1 : 0;
            }
        }

        return failed;
    }

    private readonly record struct LoopEvent(LoopEventKind Kind, object? Payload);
}
