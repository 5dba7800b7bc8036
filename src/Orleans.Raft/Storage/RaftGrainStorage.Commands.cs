using System.Diagnostics;
using System.Globalization;
using Orleans.Raft.StateMachine;
using Orleans.Storage;
using Raft.Core.Runtime;

namespace Orleans.Raft.Storage;

// Writes, clears and journal commands: conditional commands in this provider's client session, proposed on the leader
// (forwarded when this silo follows) and retried until answered or out of time; and the read index that makes reads
// linearizable.
public sealed partial class RaftGrainStorage
{
    // A grain-state write or clear as one command (its session fields are filled in per attempt by ExecuteAsync); an
    // ETag this provider did not issue fails at once.
    private GrainStateCommand StateCommand(CommandKind kind, GrainStateKey key, string? etag, ReadOnlyMemory<byte> data)
    {
        if (!TryParseETag(etag, out var expected))
        {
            Count(OperationName(kind), "conflict");
            throw new InconsistentStateException(
                $"Raft grain storage '{_name}': the ETag '{etag}' of state {key} was not issued by this provider; read the state again.",
                storedEtag: null, currentEtag: etag);
        }

        return new GrainStateCommand { Kind = kind, Key = key, ExpectedETag = expected, Data = data, DeleteOnClear = _options.DeleteStateOnClear };
    }

    // An ETag mismatch as Orleans expects it.
    private void ThrowIfETagMismatch(CommandKind kind, CommandAnswer answer, GrainStateKey key, string? etag)
    {
        if (answer.Status == CommandStatus.ETagMismatch)
        {
            var operation = OperationName(kind);
            Count(operation, "conflict");
            var stored = FormatETag(answer.ETag);
            Log.ETagConflict(_logger, _name, operation, key.ToString(), etag, stored);
            throw new InconsistentStateException(
                $"Raft grain storage '{_name}': ETag mismatch on the {operation} of state {key}: stored ETag {stored ?? "none (no record)"}, given {etag ?? "none"}. Another activation changed the state; read it again.",
                stored, etag);
        }
    }

    private static string OperationName(CommandKind kind) => kind == CommandKind.Write ? "write" : "clear";

    // Every command of a key (grain state or journal) goes this way: in this provider's client session, proposed on the
    // leader (forwarded when this silo follows), retried until answered or out of time. Returns the store's own answer
    // (Applied, or a refusal the caller turns into its exception); a lost session or a stale request become
    // RaftWriteOutcomeUnknownException. `command` is encoded for each attempt's session id, request id and lowest
    // unacknowledged request id.
    private async Task<CommandAnswer> ExecuteAsync(
        string operation, GrainStateKey key, GrainStateCommand command, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var node = RequireNode();
        var deadline = started + (long)(_options.OperationTimeout.TotalSeconds * Stopwatch.Frequency);
        var requestId = _session.Begin();
        var maybeApplied = false;
        Exception? lastFailure = null;
        var delay = FirstRetryDelay;
        try
        {
            long sessionId = 0;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var remaining = Remaining(deadline);
                if (remaining <= TimeSpan.Zero)
                {
                    throw OutOfTime(operation, key, maybeApplied, lastFailure);
                }

                try
                {
                    if (sessionId == 0 && !_session.TryGetRegistered(out sessionId))
                    {
                        sessionId = await OpenSession(node, deadline).WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
                    }

                    var bytes = command.Encode(sessionId, requestId, _session.LowestUnacknowledged);

                    // Sent: from here on a failure that is not a certain refusal leaves the outcome open.
                    var answer = CommandAnswer.Decode((await ProposeOnceAsync(node, bytes, remaining, cancellationToken).ConfigureAwait(false)).Response.Span);
                    switch (answer.Status)
                    {
                        case CommandStatus.Applied:
                            Count(operation, "ok");
                            RaftStorageMetrics.WriteLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _providerTag);
                            return answer;
                        case CommandStatus.ETagMismatch or CommandStatus.SnapshotNotNewer or CommandStatus.OutOfRange or CommandStatus.IncarnationChanged:
                            return answer;
                        case CommandStatus.SessionUnknown when !maybeApplied:
                            Log.SessionLost(_logger, _name, NodeId, sessionId);
                            _session.Invalidate(sessionId);
                            sessionId = 0;
                            continue;
                        default:
                            Count(operation, "unknown");
                            throw new RaftWriteOutcomeUnknownException(
                                $"Raft grain storage '{_name}': the outcome of the {operation} of {key} is unknown: an earlier attempt may have been applied, and the store no longer remembers this client's session ({answer.Status}). Read the state again to find out.",
                                lastFailure);
                    }
                }
                catch (Exception ex) when (IsCertainlyNotApplied(ex))
                {
                    lastFailure = ex;
                }
                catch (TimeoutException ex)
                {
                    maybeApplied |= sessionId != 0;
                    lastFailure = ex;
                    continue;
                }
                catch (RaftNodeStoppedException ex) when (node.Completion.IsCompleted)
                {
                    // This silo's own node stopped (shutdown or failure): nothing left here to retry through.
                    Count(operation, "unknown");
                    throw new RaftWriteOutcomeUnknownException(
                        $"Raft grain storage '{_name}': this silo's Raft node stopped during the {operation} of {key}; it may or may not have been applied. Read the state again to find out.",
                        ex);
                }
                catch (Exception ex) when (ex is not (InconsistentStateException or RaftGrainStorageException or InvalidDataException)
                    && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
                {
                    // A lost answer (ProposalResultUnknownException, a stopped peer, a broken link): retry in the same
                    // session; the store answers a repeat with the first attempt's answer.
                    maybeApplied = true;
                    lastFailure = ex;
                }

                RaftStorageMetrics.Retries.Add(1, _providerTag);
                Log.OperationRetry(_logger, _name, operation, key.ToString(), NodeId, lastFailure.Message);
                var wait = Remaining(deadline);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait < delay ? wait : delay, cancellationToken).ConfigureAwait(false);
                }

                delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
            }
        }
        finally
        {
            _session.End(requestId);
        }
    }

    // One attempt: propose here when this node leads, else forward to the leader it knows. A timeout surfaces as
    // TimeoutException; a leader that cannot be found in time as NotLeaderException (nothing was sent).
    private async Task<ProposalResult> ProposeOnceAsync(RaftNode node, byte[] command, TimeSpan remaining, CancellationToken cancellationToken)
    {
        var leader = node.Status.LeaderId;
        if (leader is null)
        {
            try
            {
                leader = await node.WaitForLeaderAsync(cancellationToken).WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new NotLeaderException(node.Id, leaderId: null);
            }
        }

        // One timed wait on the proposal (rather than a linked token source with a timer that the proposal then
        // registers with): a write that times out is abandoned, not withdrawn, so its outcome is unknown either way.
        Task<ProposalResult> proposal;
        if (leader == node.Id)
        {
            proposal = node.ProposeAsync(command);
        }
        else
        {
            RaftStorageMetrics.Forwarded.Add(1, _providerTag);
            proposal = _connection!.ForwardAsync(leader, command, cancellationToken);
        }

        try
        {
            return await proposal.WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new TimeoutException($"No answer from the Raft leader '{leader}' within the operation timeout.", ex);
        }
    }

    // The registration in progress, or a new one. A method of its own so that the closure is allocated only when a
    // write finds no session, not by every write.
    private Task<long> OpenSession(RaftNode node, long deadline) => _session.GetOrRegister(() => RegisterSessionAsync(node, deadline));

    // Registers a client session (its id is the registering entry's index). A lost registration only leaves an unused
    // session behind, which the store evicts in time, so it is simply retried until the deadline.
    private async Task<long> RegisterSessionAsync(RaftNode node, long deadline)
    {
        var command = GrainStateCommand.RegisterSession();
        Exception? lastFailure = null;
        var delay = FirstRetryDelay;
        while (Remaining(deadline) is var remaining && remaining > TimeSpan.Zero)
        {
            try
            {
                var result = await ProposeOnceAsync(node, command, remaining, CancellationToken.None).ConfigureAwait(false);
                var sessionId = CommandAnswer.Decode(result.Response.Span).ETag;
                Log.SessionRegistered(_logger, _name, NodeId, sessionId);
                return sessionId;
            }
            catch (RaftNodeStoppedException ex) when (node.Completion.IsCompleted)
            {
                throw new RaftGrainStorageException($"Raft grain storage '{_name}': this silo's Raft node stopped.", ex);
            }
            catch (Exception ex) when (ex is not InvalidDataException)
            {
                lastFailure = ex;
            }

            await Task.Delay(delay).ConfigureAwait(false);
            delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
        }

        throw new RaftQuorumUnavailableException(
            $"Raft grain storage '{_name}': could not open a client session: no Raft leader with a quorum answered within OperationTimeout ({_options.OperationTimeout}). {WhatToCheck()}",
            lastFailure);
    }

    // Waits until this replica has applied everything acknowledged before the call (thesis §6.4), retrying while an
    // election runs, within the operation timeout.
    private async Task WaitForReadIndexAsync(GrainStateKey key, CancellationToken cancellationToken, string operation = "read")
    {
        var node = RequireNode();
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.OperationTimeout.TotalSeconds * Stopwatch.Frequency);
        Exception? lastFailure = null;
        var delay = FirstRetryDelay;
        while (Remaining(deadline) is var remaining && remaining > TimeSpan.Zero)
        {
            try
            {
                await node.WaitForLinearizableReadAsync(cancellationToken).WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RaftNodeStoppedException ex)
            {
                throw new RaftGrainStorageException($"Raft grain storage '{_name}': this silo's Raft node stopped during the {operation} of {key}.", ex);
            }
            catch (Exception ex) when (ex is NotLeaderException or RaftTimeoutException or TimeoutException)
            {
                lastFailure = ex;
            }

            RaftStorageMetrics.Retries.Add(1, _providerTag);
            Log.OperationRetry(_logger, _name, operation, key.ToString(), NodeId, lastFailure.Message);
            var wait = Remaining(deadline);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait < delay ? wait : delay, cancellationToken).ConfigureAwait(false);
            }

            delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
        }

        throw new RaftQuorumUnavailableException(
            $"Raft grain storage '{_name}': the {operation} of {key} could not be confirmed by a Raft leader with a quorum within OperationTimeout ({_options.OperationTimeout}). {WhatToCheck()}",
            lastFailure);
    }

    private RaftGrainStorageException OutOfTime(string operation, GrainStateKey key, bool maybeApplied, Exception? lastFailure)
    {
        Count(operation, maybeApplied ? "unknown" : "unavailable");
        RaftGrainStorageException failure = maybeApplied
            ? new RaftWriteOutcomeUnknownException(
                $"Raft grain storage '{_name}': the {operation} of {key} reached the Raft group but was not answered within OperationTimeout ({_options.OperationTimeout}); it may or may not have been applied. Read the state again to find out. Last error: {lastFailure?.Message}",
                lastFailure)
            : new RaftQuorumUnavailableException(
                $"Raft grain storage '{_name}': no Raft leader with a quorum accepted the {operation} of {key} within OperationTimeout ({_options.OperationTimeout}); it was not applied. {WhatToCheck()} Last error: {lastFailure?.Message}",
                lastFailure);
        Log.OperationFailed(_logger, failure, _name, operation, key.ToString(), NodeId, failure.Message);
        return failure;
    }

    private static bool IsCertainlyNotApplied(Exception exception) =>
        exception is NotLeaderException or ProposalDroppedException or ProposalSupersededException;

    private static TimeSpan Remaining(long deadline) => Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);

    private static bool TryParseETag(string? etag, out long value)
    {
        if (etag is null)
        {
            value = 0;
            return true;
        }

        return long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;
    }
}
