using System.Text.Json;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FetchFunctions.Core.Tests.Orchestration;

/// <summary>One call an orchestration scheduled: what, under which instance id, with which input (as JSON).</summary>
internal sealed record ScheduledCall(string Kind, string Name, string? InstanceId, string Input);

/// <summary>The history of one orchestration instance: every call it scheduled, the order in which they completed and
/// with what, the custom statuses it set and its output.</summary>
internal sealed class OrchestrationHistory(string instanceId)
{
    public string InstanceId { get; } = instanceId;
    public List<ScheduledCall> Calls { get; } = [];
    public List<object> Results { get; } = [];
    public List<int> CompletionOrder { get; } = [];
    public List<CrawlProgress> Statuses { get; } = [];

    /// <summary>How many calls were in flight (scheduled, not completed) right after each call was scheduled.</summary>
    public List<int> InFlightAtSchedule { get; } = [];

    /// <summary>Every schedule and completion, in the order they happened: (true, call index) for a schedule, (false,
    /// call index) for a completion.</summary>
    public List<(bool Scheduled, int Call)> Events { get; } = [];

    public string? OutputJson { get; set; }
}

/// <summary>Runs orchestration logic the way Durable Functions does: on one thread, through a synchronization context
/// that queues continuations, every scheduled call a pending task. Whenever the logic waits, the driver completes
/// one pending call. Recording picks that call with a seeded random (so completion order is scrambled, as with
/// real workers) and asks a responder for its result; replay completes calls in the recorded order with the recorded
/// results and fails as soon as the logic schedules anything but the recorded call.</summary>
internal static class OrchestrationHarness
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Answers a scheduled call: activities by name, sub-orchestrations by running them in a nested harness.</summary>
    public delegate object Responder(ScheduledCall call, object input, Recorder recorder);

    /// <summary>Every instance's history of one recorded run (the root and its sub-orchestrations).</summary>
    internal sealed class Recorder(int seed)
    {
        private readonly Random _random = new(seed);

        public Dictionary<string, OrchestrationHistory> Histories { get; } = new(StringComparer.Ordinal);

        internal int Pick(int count) => _random.Next(count);
    }

    public static (T Output, OrchestrationHistory History) Record<T>(string instanceId, Func<ICrawlOrchestrationContext, Task<T>> orchestration,
        Responder respond, Recorder recorder)
    {
        var history = new OrchestrationHistory(instanceId);
        recorder.Histories.Add(instanceId, history);
        var context = new HarnessContext(instanceId, history, expected: null);
        var output = Drive(context, orchestration, pending =>
        {
            var index = pending[recorder.Pick(pending.Count)];
            var call = history.Calls[index];
            return (index, respond(call, context.Inputs[index], recorder));
        });
        history.OutputJson = Json(output);
        return (output, history);
    }

    /// <summary>Runs the logic again against a recorded history. With <paramref name="events"/> it replays only that many
    /// completions, then continues live with <paramref name="respond"/>, as Durable does when new events arrive.</summary>
    public static (T Output, OrchestrationHistory History) Replay<T>(OrchestrationHistory recorded, Func<ICrawlOrchestrationContext, Task<T>> orchestration,
        int? events = null, Responder? respond = null, Recorder? recorder = null)
    {
        var history = new OrchestrationHistory(recorded.InstanceId);
        var context = new HarnessContext(recorded.InstanceId, history, recorded);
        var replayed = 0;
        var output = Drive(context, orchestration, pending =>
        {
            if (replayed < (events ?? recorded.CompletionOrder.Count))
            {
                var index = recorded.CompletionOrder[replayed++];
                if (!pending.Contains(index))
                {
                    throw new InvalidOperationException($"Replay diverged: history completes call {index}, which the logic has not scheduled.");
                }

                return (index, recorded.Results[index]);
            }

            if (respond is null || recorder is null)
            {
                throw new InvalidOperationException("Replay diverged: the logic waits for more than the history holds.");
            }

            var live = pending[recorder.Pick(pending.Count)];
            return (live, respond(history.Calls[live], context.Inputs[live], recorder));
        });
        history.OutputJson = Json(output);
        return (output, history);
    }

    /// <summary>The history as Durable held it after <paramref name="events"/> completions: those completions and every
    /// call scheduled before the next one. Replaying it and then running live may schedule other calls than the full
    /// recording did, when the logic's choices depend on the order of completions.</summary>
    public static OrchestrationHistory Truncate(OrchestrationHistory recorded, int events)
    {
        var truncated = new OrchestrationHistory(recorded.InstanceId);
        var completions = 0;
        foreach (var (scheduled, call) in recorded.Events)
        {
            if (!scheduled && completions++ == events)
            {
                break;
            }

            if (scheduled)
            {
                truncated.Calls.Add(recorded.Calls[call]);
            }
            else
            {
                truncated.CompletionOrder.Add(call);
            }
        }

        truncated.Results.AddRange(recorded.Results);
        return truncated;
    }

    public static string Json(object? value) => value is null ? "null" : JsonSerializer.Serialize(value, value.GetType());

    private static T Drive<T>(HarnessContext context, Func<ICrawlOrchestrationContext, Task<T>> orchestration,
        Func<List<int>, (int Index, object Result)> next)
    {
        var pump = new PumpContext();
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(pump);
        try
        {
            var task = orchestration(context);
            while (true)
            {
                pump.RunAll();
                if (task.IsCompleted)
                {
                    return task.GetAwaiter().GetResult();
                }

                var pending = context.PendingIndexes();
                if (pending.Count == 0)
                {
                    throw new InvalidOperationException("The orchestration waits, but nothing it scheduled is pending.");
                }

                var (index, result) = next(pending);
                context.Complete(index, result);
            }
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    /// <summary>Runs posted continuations on the driving thread, one at a time, like the Durable task scheduler.</summary>
    private sealed class PumpContext : SynchronizationContext
    {
        private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();

        public override void Post(SendOrPostCallback d, object? state) => _queue.Enqueue((d, state));

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("Orchestrations never block.");

        public void RunAll()
        {
            while (_queue.TryDequeue(out var work))
            {
                work.Callback(work.State);
            }
        }
    }

    private sealed class HarnessContext(string instanceId, OrchestrationHistory history, OrchestrationHistory? expected) : ICrawlOrchestrationContext
    {
        private readonly List<Action<object>> _completers = [];
        private readonly HashSet<int> _pending = [];

        public List<object> Inputs { get; } = [];

        public string InstanceId => instanceId;

        // Like Durable: the time of the latest history event, here one second per completed call.
        public DateTimeOffset CurrentUtcDateTime => Epoch.AddSeconds(history.CompletionOrder.Count);

        public ILogger ReplaySafeLogger => NullLogger.Instance;

        public Task<TResult> CallActivityAsync<TResult>(string name, object input) => Schedule<TResult>(new("activity", name, null, Json(input)), input);

        public Task<TResult> CallSubOrchestratorAsync<TResult>(string name, string instanceId, object input) =>
            Schedule<TResult>(new("orchestration", name, instanceId, Json(input)), input);

        public void SetCustomStatus(CrawlProgress status) => history.Statuses.Add(status);

        public List<int> PendingIndexes() => [.. _pending.Order()];

        public void Complete(int index, object result)
        {
            _pending.Remove(index);
            history.CompletionOrder.Add(index);
            history.Events.Add((false, index));
            while (history.Results.Count <= index)
            {
                history.Results.Add(null!);
            }

            history.Results[index] = result;
            _completers[index](result);
        }

        private Task<TResult> Schedule<TResult>(ScheduledCall call, object input)
        {
            var index = history.Calls.Count;
            if (expected is not null && index < expected.Calls.Count && expected.Calls[index] != call)
            {
                throw new InvalidOperationException($"Replay diverged at call {index}: scheduled {call}, history has {expected.Calls[index]}.");
            }

            history.Calls.Add(call);
            Inputs.Add(input);
            var completion = new TaskCompletionSource<TResult>();
            _completers.Add(result =>
            {
                if (result is Exception failure)
                {
                    completion.SetException(failure);
                }
                else
                {
                    completion.SetResult((TResult)result);
                }
            });
            _pending.Add(index);
            history.InFlightAtSchedule.Add(_pending.Count);
            history.Events.Add((true, index));
            return completion.Task;
        }
    }
}
