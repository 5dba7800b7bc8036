using System.Text;
using Raft.Core.Messages;
using Raft.Core.StateMachine;

namespace Raft.Core.Tests.Runtime;

// Records every applied command; answers with the command reversed, so tests can tell the state machine's result apart
// from an echo. Can be made to fail on a command or to hold applies until released.
public sealed class TestStateMachine : IStateMachine
{
    public ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write(_applied.Count);
            foreach (var (index, command) in _applied)
            {
                writer.Write(index);
                writer.Write(command);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        var count = reader.ReadInt32();
        var restored = new List<(long, string)>(count);
        for (var i = 0; i < count; i++)
        {
            restored.Add((reader.ReadInt64(), reader.ReadString()));
        }

        lock (_lock)
        {
            _applied.Clear();
            _applied.AddRange(restored);
        }

        return ValueTask.CompletedTask;
    }

    private readonly Lock _lock = new();
    private readonly List<(long Index, string Command)> _applied = [];

    public string? FailOn { get; set; }

    public TaskCompletionSource? Gate { get; set; }

    // How many applies reached the gate (the applier has taken their batch from the node's apply queue).
    public int GateWaiters => Volatile.Read(ref _gateWaiters);

    private int _gateWaiters;

    public IReadOnlyList<(long Index, string Command)> Applied
    {
        get
        {
            lock (_lock)
            {
                return [.. _applied];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _applied.Count;
            }
        }
    }

    public static string Reverse(string command) => new([.. command.Reverse()]);

    public async ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
    {
        if (Gate is { } gate)
        {
            Interlocked.Increment(ref _gateWaiters);
            await gate.Task.WaitAsync(cancellationToken);
        }

        var command = Encoding.UTF8.GetString(entry.Data.Span);
        if (command == FailOn)
        {
            throw new InvalidOperationException($"The test state machine refuses '{command}'.");
        }

        lock (_lock)
        {
            if (_applied.Count > 0 && _applied[^1].Index >= entry.Index)
            {
                throw new InvalidOperationException($"Entry {entry.Index} applied after {_applied[^1].Index}: out of order or twice.");
            }

            _applied.Add((entry.Index, command));
        }

        return Encoding.UTF8.GetBytes(Reverse(command));
    }
}
