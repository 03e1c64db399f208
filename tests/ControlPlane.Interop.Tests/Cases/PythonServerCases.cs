using ControlPlane.Interop.Tests.Python;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>Our client against the python grpcio server (tests/interop/python/interop_server.py).</summary>
public sealed class PythonServerCases(PythonServerFixture fixture) : InteropCases, IClassFixture<PythonServerFixture>, IAsyncLifetime
{
    protected override async Task<Uri> GetAddressAsync() => new($"http://127.0.0.1:{await fixture.GetPortAsync()}");

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>When a case failed, its output shows what the python server printed.</summary>
    public ValueTask DisposeAsync()
    {
        if (TestContext.Current.TestState?.Result == TestResult.Failed)
        {
            TestContext.Current.TestOutputHelper?.WriteLine("--- python server ---" + Environment.NewLine + fixture.Describe());
        }
        return ValueTask.CompletedTask;
    }
}
