using ControlPlane.Interop.Tests.Python;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>Our client against the python grpcio server (tests/interop/python/interop_server.py).</summary>
public sealed class PythonServerCases(PythonServerFixture fixture) : InteropCases, IClassFixture<PythonServerFixture>
{
    protected override async Task<Uri> GetAddressAsync() => new($"http://127.0.0.1:{await fixture.GetPortAsync()}");
}
