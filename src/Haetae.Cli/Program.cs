using Haetae.Cli;

return await HaetaeCommand.RunAsync(args, Console.Out, Console.Error);
