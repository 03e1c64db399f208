using System.Diagnostics;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Tests.Ops;

/// <summary>
/// A background timer created inside a request (a singleton built on first use) runs its callbacks in
/// no request's context: its log lines must not carry that request's trace for the process's life.
/// </summary>
public sealed class BackgroundTimersTests
{
    private static readonly AsyncLocal<string?> RequestScope = new();

    [Fact]
    public async Task ACallbackSeesNeitherTheCreatorsActivityNorItsAsyncLocals()
    {
        using var request = new Activity("request").Start();
        RequestScope.Value = "first-request";
        var seen = new TaskCompletionSource<(string? Scope, Activity? Activity)>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var timer = TimeProvider.System.CreateBackgroundTimer(_ => seen.TrySetResult((RequestScope.Value, Activity.Current)), null, TimeSpan.Zero, Timeout.InfiniteTimeSpan);

        var (scope, activity) = await seen.Task.DefaultTimeout();
        Assert.Null(scope);
        Assert.Null(activity);
        Assert.Equal("first-request", RequestScope.Value); // the creator's own context is untouched
        Assert.Same(request, Activity.Current);
    }
}
