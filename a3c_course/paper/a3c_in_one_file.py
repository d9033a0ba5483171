r"""The whole of A3C in one file, in the paper's order: read this first.

Asynchronous advantage actor-critic (Mnih et al., 2016, Algorithm S3) on CartPole:

1. one network in **shared memory** (``share_memory()``), which every worker reads and
   writes without a lock, and **shared RMSProp** statistics beside it;
2. ``N`` worker **processes**, each with its own environment;
3. each worker's loop: copy the shared weights (:math:`\theta' \leftarrow \theta`), act
   for up to :math:`t_{max}` steps, compute the n-step returns and the loss, backpropagate,
   clip, hand the gradients to the shared parameters and step: Hogwild.

The library's engine (:mod:`a3c_course.engine`) does the same with what a course needs
around it: every input checked before a process starts, faster acting and updates,
progress, interrupts, checkpoints. Its loss is this file's, to the last bit (a test
holds them together). Run this file as it is::

    python -m a3c_course.paper.a3c_in_one_file --workers 2 --steps 200000
"""

import argparse

import gymnasium as gym
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

GAMMA, T_MAX, LR = 0.99, 5, 7e-4  # discount, rollout length, initial learning rate
ENTROPY_BETA, VALUE_COEF, MAX_GRAD_NORM = 0.01, 0.5, 40.0
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-5


class ActorCritic(nn.Module):
    r"""One trunk, two heads: the policy's logits :math:`\pi(\cdot \mid s)` and the value :math:`V(s)`."""

    def __init__(self, n_inputs, n_actions, hidden=64):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(n_inputs, hidden), nn.Tanh(),
                                   nn.Linear(hidden, hidden), nn.Tanh())
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)
        for layer, gain in ((self.trunk[0], 2**0.5), (self.trunk[2], 2**0.5),
                            (self.policy, 0.01), (self.value, 1.0)):
            nn.init.orthogonal_(layer.weight, gain)  # a small gain: a near-uniform first policy
            nn.init.zeros_(layer.bias)

    def forward(self, observations):
        features = self.trunk(observations)
        return self.policy(features), self.value(features).squeeze(-1)


class SharedRMSprop:
    r"""RMSProp as the paper writes it, its statistics :math:`g` in shared memory.

    .. math:: g \leftarrow \alpha g + (1 - \alpha) \Delta\theta^2, \qquad
              \theta \leftarrow \theta - \eta \frac{\Delta\theta}{\sqrt{g + \epsilon}}
    """

    def __init__(self, params, lr=LR, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS):
        self.params, self.lr, self.alpha, self.eps = list(params), lr, alpha, eps
        self.square_avgs = [torch.zeros_like(p).share_memory_() for p in self.params]

    @torch.no_grad()
    def step(self):
        for param, g in zip(self.params, self.square_avgs):
            g.mul_(self.alpha).addcmul_(param.grad, param.grad, value=1 - self.alpha)
            param.addcdiv_(param.grad, g.add(self.eps).sqrt_(), value=-self.lr)


def a3c_loss(model, observations, actions, rewards, terminated):
    r"""The loss of one rollout: :math:`L_\pi + c_V L_V - \beta H`, summed over its steps.

    ``observations`` holds the rollout's :math:`T` states and then :math:`s_{t+T}`, the
    state the returns bootstrap from (unless the last step was ``terminated``).
    """
    logits, values = model(torch.stack(observations))
    # n-step returns, backwards: R <- V(s_{t+T}) (or 0), then R <- r_i + gamma R.
    running = 0.0 if terminated else float(values[-1].detach())
    returns = []
    for reward in reversed(torch.tensor(rewards, dtype=torch.float32).tolist()):
        running = reward + GAMMA * running
        returns.append(running)
    returns = torch.tensor(returns[::-1], dtype=torch.float32)
    log_probs = F.log_softmax(logits[:-1], dim=-1)
    taken = log_probs.gather(1, torch.tensor(actions).unsqueeze(1)).squeeze(1)
    td_errors = returns - values[:-1]
    policy_loss = -(taken * td_errors.detach()).sum()  # the advantage, held constant
    value_loss = td_errors.pow(2).sum()
    entropy = -(log_probs.exp() * log_probs).sum(dim=-1).sum()
    return policy_loss + VALUE_COEF * value_loss - ENTROPY_BETA * entropy


def worker(rank, shared_model, optimizer, global_step, max_steps, anneal_steps, episodes, seed):
    """One actor-learner: its own environment and local network, the shared ones to update."""
    torch.set_num_threads(1)
    torch.manual_seed(seed + rank)
    env = gym.make("CartPole-v1")
    local_model = ActorCritic(env.observation_space.shape[0], env.action_space.n)
    obs, _ = env.reset(seed=seed + rank)
    obs, episode_return = torch.as_tensor(obs), 0.0
    while global_step.value < max_steps:
        local_model.load_state_dict(shared_model.state_dict())  # theta' <- theta
        observations, actions, rewards = [], [], []
        terminated = truncated = False
        while len(rewards) < T_MAX and not (terminated or truncated):
            with torch.no_grad():  # act: a ~ pi(. | s; theta')
                logits, _ = local_model(obs.unsqueeze(0))
            action = int(torch.multinomial(F.softmax(logits[0], dim=-1), 1))
            next_obs, reward, terminated, truncated, _ = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(float(reward))
            episode_return += reward
            obs = torch.as_tensor(next_obs)
        loss = a3c_loss(local_model, observations + [obs], actions, rewards, terminated)
        local_model.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(local_model.parameters(), MAX_GRAD_NORM)
        for shared_param, local_param in zip(shared_model.parameters(), local_model.parameters()):
            shared_param.grad = local_param.grad  # Hogwild: hand over, no lock
        optimizer.lr = LR * max(0.0, 1.0 - global_step.value / anneal_steps)  # linearly to 0
        optimizer.step()
        with global_step.get_lock():
            global_step.value += len(rewards)
        if terminated or truncated:
            episodes.put(episode_return)
            obs, episode_return = torch.as_tensor(env.reset()[0]), 0.0


def train(n_workers=2, max_steps=200_000, seed=0, anneal_steps=None, report_every=50):
    """Train A3C on CartPole with ``n_workers`` processes; the episodes' returns, in order.

    The learning rate falls linearly to 0 over ``anneal_steps`` global steps (by default
    ``max_steps``, as the paper anneals it over the whole run).
    """
    torch.manual_seed(seed)
    env = gym.make("CartPole-v1")
    shared_model = ActorCritic(env.observation_space.shape[0], env.action_space.n)
    shared_model.share_memory()  # the weights every worker reads and writes
    optimizer = SharedRMSprop(shared_model.parameters())
    processes = mp.get_context("spawn")  # each worker a fresh Python, on every system
    global_step, episodes = processes.Value("l", 0), processes.Queue()
    workers = [processes.Process(target=worker, args=(rank, shared_model, optimizer, global_step, max_steps,
                                                anneal_steps or max_steps, episodes, seed))
               for rank in range(n_workers)]
    for process in workers:
        process.start()
    returns = []
    while any(process.is_alive() for process in workers) or not episodes.empty():
        try:  # a worker cannot exit before what it put in the queue is read
            returns.append(episodes.get(timeout=0.1))
        except Exception:  # queue.Empty
            continue
        if report_every and len(returns) % report_every == 0:
            print(f"step {global_step.value:>8,}  episodes {len(returns):>5}  "
                  f"mean of the last 20: {sum(returns[-20:]) / len(returns[-20:]):6.1f}")
    for process in workers:
        process.join()
    return returns


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A3C on CartPole, the whole algorithm in one file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anneal-steps", type=int, default=None,
                        help="global steps over which the learning rate falls to 0 (default: --steps)")
    args = parser.parse_args()
    episode_returns = train(args.workers, args.steps, args.seed, args.anneal_steps)
    last = episode_returns[-20:]
    print(f"{len(episode_returns)} episodes; mean return of the last 20: {sum(last) / max(1, len(last)):.1f}")
