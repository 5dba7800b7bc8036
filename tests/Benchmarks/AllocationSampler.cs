using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Benchmarks;

/// <summary>
/// Samples allocations in-process through the runtime's GC AllocationTick event (one event per ~100 KB allocated,
/// naming the type that crossed the threshold), so hot allocation sites show without an external profiler.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();
    private volatile bool _enabled;

    public void Begin() => _enabled = true;

    public void End() => _enabled = false;

    public IEnumerable<(string Type, long Bytes)> Top(int count) =>
        _bytesByType.OrderByDescending(p => p.Value).Take(count).Select(p => (p.Key, p.Value));

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_enabled || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames?.IndexOf("TypeName") ?? -1;
        var amountIndex = eventData.PayloadNames?.IndexOf("AllocationAmount64") ?? -1;
        if (typeIndex < 0)
        {
            return;
        }

        var type = eventData.Payload[typeIndex] as string ?? "?";
        var amount = amountIndex >= 0 && eventData.Payload[amountIndex] is ulong bytes ? (long)bytes : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, total) => total + amount);
    }
}
