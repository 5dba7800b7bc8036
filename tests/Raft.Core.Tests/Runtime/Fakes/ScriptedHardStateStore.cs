using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Tests.Runtime.Fakes;

// A hard-state store whose saves complete when the test says so (or at once), recording "save:start" and "save:done".
public sealed class ScriptedHardStateStore(CallLog calls) : IHardStateStore
{
    private HardState _state;

    public TaskCompletionSource? PendingSave { get; set; }

    public Exception? FailWith { get; set; }

    public ValueTask<HardState> LoadAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_state);

    public ValueTask SaveAsync(HardState state, CancellationToken cancellationToken = default)
    {
        calls.Add("save:start");
        return PendingSave is { } pending ? new ValueTask(CompleteLaterAsync(pending, state)) : CompleteNow(state);
    }

    private async Task CompleteLaterAsync(TaskCompletionSource pending, HardState state)
    {
        await pending.Task;
        await CompleteNow(state);
    }

    private ValueTask CompleteNow(HardState state)
    {
        if (FailWith is not null)
        {
            calls.Add("save:failed");
            return ValueTask.FromException(FailWith);
        }

        _state = state;
        calls.Add("save:done");
        return ValueTask.CompletedTask;
    }
}
