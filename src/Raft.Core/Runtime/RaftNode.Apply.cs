using Raft.Core.Messages;

namespace Raft.Core.Runtime;

// The applier: hands committed entries to the state machine in log order, off the consensus loop, and resolves the
// proposals they carry.
public sealed partial class RaftNode
{
    // Batches of committed entries in log order, written only by the loop, read only by the applier.
    private readonly System.Threading.Channels.Channel<IReadOnlyList<Entry>> _applyQueue;

    // The state machine's results for the batch being applied; used by the applier task only.
    private readonly List<ReadOnlyMemory<byte>> _responses = [];

    private async Task RunApplierAsync()
    {
        var reader = _applyQueue.Reader;
        var token = _stopping.Token;
        try
        {
            // No token on the wait (a cancellable wait allocates each time); stopping completes the queue instead.
            while (!token.IsCancellationRequested && await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (!token.IsCancellationRequested && reader.TryRead(out var batch))
                {
                    await ApplyBatchAsync(batch, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping; entries not yet applied stay in the durable log.
        }
        catch (Exception ex)
        {
            Fail(ex, "state machine");
        }
    }

    private async ValueTask ApplyBatchAsync(IReadOnlyList<Entry> batch, CancellationToken cancellationToken)
    {
        _responses.Clear();
        for (var i = 0; i < batch.Count; i++)
        {
            var entry = batch[i];
            var response = ReadOnlyMemory<byte>.Empty;

            // No-ops and configuration entries are the engine's business; the state machine sees commands only.
            if (entry.Type == EntryType.Normal)
            {
                var applying = _stateMachine.ApplyAsync(entry, cancellationToken);
                response = applying.IsCompletedSuccessfully ? applying.Result : await applying.ConfigureAwait(false);
            }

            _responses.Add(response);
        }

        // One lock per batch: the loop registers whole batches too, so the two rarely wait for each other.
        lock (_lock)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                _proposals.OnApplied(batch[i], _responses[i]);
            }
        }

        RaftMetrics.AppliedEntries.Add(batch.Count, _nodeTag);
    }
}
